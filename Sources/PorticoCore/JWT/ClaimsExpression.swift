import Foundation

/// Traefik Hub's claims expression: `Equals`, `Prefix`, `Contains`, `SplitContains` and `OneOf` over claim paths,
/// combined with `&&`, `||`, `!` and parentheses. `!` binds tightest, then `&&`, then `||`.
/// Compiled once when the settings are saved; a syntax error names its position (1-based, in characters).
public indirect enum ClaimsExpression: Sendable, Hashable {
    case equals(ClaimPath, String)
    case prefix(ClaimPath, String)
    case contains(ClaimPath, String)
    case splitContains(ClaimPath, separator: String, value: String)
    case oneOf(ClaimPath, [String])
    case not(ClaimsExpression)
    case and(ClaimsExpression, ClaimsExpression)
    case or(ClaimsExpression, ClaimsExpression)

    /// Where and why an expression does not parse.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public let position: Int
        public let message: String
        public var description: String { "at position \(position): \(message)" }

        public init(position: Int, message: String) {
            self.position = position
            self.message = message
        }
    }

    public init(_ text: String) throws(SyntaxError) {
        var parser = ClaimsExpressionParser(text)
        self = try parser.parseWhole()
    }

    /// Whether `claims` satisfy the expression; a claim that is missing satisfies no comparison.
    public func evaluate(_ claims: [String: JSONValue]) -> Bool {
        switch self {
        case .equals(let path, let value):
            return path.value(in: claims)?.scalarText == value
        case .prefix(let path, let value):
            return path.value(in: claims)?.scalarTexts.contains { $0.hasPrefix(value) } ?? false
        case .contains(let path, let value):
            switch path.value(in: claims) {
            case .array(let elements)?: return elements.contains { $0.scalarText == value }
            case let scalar?: return scalar.scalarText?.contains(value) ?? false
            case nil: return false
            }
        case .splitContains(let path, let separator, let value):
            guard let text = path.value(in: claims)?.scalarText else { return false }
            return text.split(separator: separator, omittingEmptySubsequences: true)
                .contains { $0.trimmingCharacters(in: .whitespaces) == value }
        case .oneOf(let path, let values):
            return path.value(in: claims)?.scalarTexts.contains { values.contains($0) } ?? false
        case .not(let inner):
            return !inner.evaluate(claims)
        case .and(let left, let right):
            return left.evaluate(claims) && right.evaluate(claims)
        case .or(let left, let right):
            return left.evaluate(claims) || right.evaluate(claims)
        }
    }
}

private struct ClaimsExpressionParser {
    private let characters: [Character]
    private var index = 0

    init(_ text: String) { characters = Array(text) }

    mutating func parseWhole() throws(ClaimsExpression.SyntaxError) -> ClaimsExpression {
        skipSpaces()
        guard index < characters.count else { throw error("the expression is empty") }
        let expression = try parseOr()
        skipSpaces()
        guard index == characters.count else { throw error("unexpected '\(characters[index])'") }
        return expression
    }

    private mutating func parseOr() throws(ClaimsExpression.SyntaxError) -> ClaimsExpression {
        var left = try parseAnd()
        while consume("||") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws(ClaimsExpression.SyntaxError) -> ClaimsExpression {
        var left = try parseUnary()
        while consume("&&") { left = .and(left, try parseUnary()) }
        return left
    }

    private mutating func parseUnary() throws(ClaimsExpression.SyntaxError) -> ClaimsExpression {
        if consume("!") { return .not(try parseUnary()) }
        if consume("(") {
            let inner = try parseOr()
            guard consume(")") else { throw error("expected ')'") }
            return inner
        }
        return try parseCall()
    }

    private mutating func parseCall() throws(ClaimsExpression.SyntaxError) -> ClaimsExpression {
        skipSpaces()
        let start = index
        var name = ""
        while index < characters.count, characters[index].isLetter {
            name.append(characters[index])
            index += 1
        }
        guard !name.isEmpty else {
            throw index < characters.count ? error("expected a function such as Equals(…)") : error("the expression ends too early")
        }
        guard consume("(") else { throw error("expected '(' after \(name)") }
        var arguments: [(text: String, position: Int)] = []
        repeat {
            skipSpaces()
            let position = index
            arguments.append((try parseString(), position))
        } while consume(",")
        guard consume(")") else { throw error("expected ',' or ')'") }

        func arity(_ expected: Int) throws(ClaimsExpression.SyntaxError) {
            guard arguments.count == expected else {
                throw ClaimsExpression.SyntaxError(position: start + 1, message: "\(name) takes \(expected) arguments, not \(arguments.count)")
            }
        }
        let path: ClaimPath
        do {
            path = try ClaimPath(arguments[0].text)
        } catch {
            throw ClaimsExpression.SyntaxError(position: arguments[0].position + 1, message: error.reason)
        }
        switch name {
        case "Equals":
            try arity(2)
            return .equals(path, arguments[1].text)
        case "Prefix":
            try arity(2)
            return .prefix(path, arguments[1].text)
        case "Contains":
            try arity(2)
            return .contains(path, arguments[1].text)
        case "SplitContains":
            try arity(3)
            guard !arguments[1].text.isEmpty else {
                throw ClaimsExpression.SyntaxError(position: arguments[1].position + 1, message: "the separator is empty")
            }
            return .splitContains(path, separator: arguments[1].text, value: arguments[2].text)
        case "OneOf":
            guard arguments.count >= 2 else {
                throw ClaimsExpression.SyntaxError(position: start + 1, message: "OneOf takes a claim and at least one value")
            }
            return .oneOf(path, arguments.dropFirst().map(\.text))
        default:
            throw ClaimsExpression.SyntaxError(
                position: start + 1, message: "unknown function '\(name)' (Equals, Prefix, Contains, SplitContains, OneOf)")
        }
    }

    /// A string in backticks (Traefik's form) or double quotes; no escapes inside.
    private mutating func parseString() throws(ClaimsExpression.SyntaxError) -> String {
        guard index < characters.count, characters[index] == "`" || characters[index] == "\"" else {
            throw error("expected a string in backticks")
        }
        let quote = characters[index]
        let opening = index
        index += 1
        var text = ""
        while index < characters.count, characters[index] != quote {
            text.append(characters[index])
            index += 1
        }
        guard index < characters.count else {
            throw ClaimsExpression.SyntaxError(position: opening + 1, message: "unterminated string")
        }
        index += 1
        return text
    }

    private mutating func consume(_ token: String) -> Bool {
        skipSpaces()
        let tokenCharacters = Array(token)
        guard index + tokenCharacters.count <= characters.count,
            Array(characters[index..<(index + tokenCharacters.count)]) == tokenCharacters
        else { return false }
        index += tokenCharacters.count
        return true
    }

    private mutating func skipSpaces() {
        while index < characters.count, characters[index].isWhitespace { index += 1 }
    }

    private func error(_ message: String) -> ClaimsExpression.SyntaxError {
        ClaimsExpression.SyntaxError(position: index + 1, message: message)
    }
}

extension ClaimsExpression: CustomStringConvertible {
    /// The expression in the syntax it is written in, strings in backticks.
    public var description: String {
        func quoted(_ text: String) -> String { "`\(text)`" }
        switch self {
        case .equals(let path, let value): return "Equals(\(quoted(path.description)), \(quoted(value)))"
        case .prefix(let path, let value): return "Prefix(\(quoted(path.description)), \(quoted(value)))"
        case .contains(let path, let value): return "Contains(\(quoted(path.description)), \(quoted(value)))"
        case .splitContains(let path, let separator, let value):
            return "SplitContains(\(quoted(path.description)), \(quoted(separator)), \(quoted(value)))"
        case .oneOf(let path, let values): return "OneOf(\(([path.description] + values).map(quoted).joined(separator: ", ")))"
        case .not(let inner): return "!\(inner.grouped)"
        case .and(let left, let right): return "\(left.grouped) && \(right.grouped)"
        case .or(let left, let right): return "\(left.grouped) || \(right.grouped)"
        }
    }

    private var grouped: String {
        switch self {
        case .and, .or: "(\(description))"
        default: description
        }
    }

    /// For claims the expression refuses: the smallest part that decided it (the left side of a failing `&&`
    /// when it fails, else the right; an `||` or `!` as a whole). nil when the claims satisfy it.
    public func failingPart(_ claims: [String: JSONValue]) -> ClaimsExpression? {
        guard !evaluate(claims) else { return nil }
        if case .and(let left, let right) = self { return left.failingPart(claims) ?? right.failingPart(claims) }
        return self
    }
}
