import Foundation

/// Which operations of an API a grant covers (Traefik Hub's `operationFilter`): those of the API's OpenAPI document
/// with one of `tags` or `operationIds`, and those matching one of `operations` (`GET /orders/*`). A grant without
/// a filter covers every operation. Paths are the paths the API's document describes: the request's path with the
/// API's prefix taken off when the gateway strips it.
public struct OperationFilter: Codable, Sendable, Hashable {
    public var tags: [String]
    public var operationIds: [String]
    /// Method and path patterns: `GET /orders/{id}`, `* /health`. In a path, `{name}` or `*` stands for one segment,
    /// and a last segment `**` for one or more.
    public var operations: [String]

    public init(tags: [String] = [], operationIds: [String] = [], operations: [String] = []) {
        self.tags = tags
        self.operationIds = operationIds
        self.operations = operations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        operationIds = try container.decodeIfPresent([String].self, forKey: .operationIds) ?? []
        operations = try container.decodeIfPresent([String].self, forKey: .operations) ?? []
    }

    public var isEmpty: Bool { tags.isEmpty && operationIds.isEmpty && operations.isEmpty }

    /// The filter of a form's text, one entry a line: `tag:NAME`, `operationId:ID` or `METHOD /path`; nil when it
    /// names nothing.
    public init?(lines text: String) {
        self.init()
        for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
            if line.lowercased().hasPrefix("tag:") {
                tags.append(line.dropFirst(4).trimmingCharacters(in: .whitespaces))
            } else if line.lowercased().hasPrefix("operationid:") {
                operationIds.append(line.dropFirst(12).trimmingCharacters(in: .whitespaces))
            } else {
                operations.append(line)
            }
        }
        if isEmpty { return nil }
    }

    /// The filter as `init(lines:)` reads it.
    public var lines: String {
        (tags.map { "tag:" + $0 } + operationIds.map { "operationId:" + $0 } + operations).joined(separator: "\n")
    }

    /// The filter with its patterns checked, each list sorted and without repeats; a 422 on `operationFilter…` names
    /// the first problem.
    public func validated() throws(PorticoError) -> OperationFilter {
        guard !isEmpty else {
            throw .invalid(field: "operationFilter", reason: "names no tag, operation id or operation: leave it out to cover every operation")
        }
        for (index, pattern) in operations.enumerated() {
            do {
                _ = try OperationPattern(parsing: pattern)
            } catch .invalid(_, let reason) {
                throw .invalid(field: "operationFilter.operations[\(index)]", reason: reason)
            }
        }
        for (field, names) in [("tags", tags), ("operationIds", operationIds)] where names.contains(where: { $0.isEmpty }) {
            throw .invalid(field: "operationFilter.\(field)", reason: "may not hold an empty name")
        }
        return OperationFilter(
            tags: Array(Set(tags)).sorted(), operationIds: Array(Set(operationIds)).sorted(), operations: Array(Set(operations)).sorted())
    }

    /// The patterns this filter covers on an API whose document has `documented` operations.
    public func patterns(documented: [DocumentOperation]) -> [OperationPattern] {
        var patterns = operations.compactMap { try? OperationPattern(parsing: $0) }
        for operation in documented
        where operation.tags.contains(where: tags.contains) || operation.operationId.map(operationIds.contains) == true {
            patterns.append(OperationPattern(method: operation.method, template: operation.path))
        }
        return patterns
    }
}

/// One operation of an API's OpenAPI document, as operation filters and refusals name it.
public struct DocumentOperation: Codable, Sendable, Hashable {
    /// Upper case.
    public let method: String
    /// The document's path template, `/orders/{id}`.
    public let path: String
    public let operationId: String?
    public let tags: [String]

    public init(method: String, path: String, operationId: String?, tags: [String]) {
        self.method = method.uppercased()
        self.path = path
        self.operationId = operationId
        self.tags = tags
    }
}

/// A method and path pattern, compiled once; matching compares segments and allocates nothing but the split.
public struct OperationPattern: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal(Substring)
        /// `{name}` or `*`: any one segment.
        case one
        /// A last `**`: one or more segments.
        case rest
    }

    /// nil: any method.
    let method: String?
    let segments: [Segment]
    public let description: String

    /// `METHOD /path`, where METHOD is an HTTP method or `*`.
    public init(parsing text: String) throws(PorticoError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw .invalid(field: "operations", reason: "'\(text)' is not a method and a path, such as 'GET /orders/*'")
        }
        let method = parts[0].uppercased()
        guard method == "*" || (method.allSatisfy { $0.isASCII && $0.isLetter }) else {
            throw .invalid(field: "operations", reason: "'\(parts[0])' is not an HTTP method or '*'")
        }
        let path = String(parts[1])
        guard path.hasPrefix("/") else { throw .invalid(field: "operations", reason: "the path '\(path)' does not start with '/'") }
        let segments = Self.segments(of: path)
        if let restIndex = segments.firstIndex(of: .rest), restIndex != segments.count - 1 {
            throw .invalid(field: "operations", reason: "in '\(path)', '**' may only be the last segment")
        }
        if segments.contains(.literal("..")) || segments.contains(.literal(".")) {
            throw .invalid(field: "operations", reason: "the path '\(path)' holds a dot segment")
        }
        self.method = method == "*" ? nil : method
        self.segments = segments
        self.description = "\(method) \(path)"
    }

    /// A document's operation: its method, and its path template's `{name}`s as one segment each.
    public init(method: String, template: String) {
        self.method = method.uppercased()
        self.segments = Self.segments(of: template)
        self.description = "\(method.uppercased()) \(template)"
    }

    private static func segments(of path: String) -> [Segment] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            if segment == "**" { return .rest }
            if segment == "*" || (segment.hasPrefix("{") && segment.hasSuffix("}")) { return .one }
            return .literal(segment)
        }
    }

    /// Whether a request of `method` to a path already split by `RequestPathSegments` is this operation.
    public func matches(method requestMethod: String, path: RequestPathSegments) -> Bool {
        if let method, method != requestMethod { return false }
        guard let actual = path.segments else { return false }
        var index = 0
        for segment in segments {
            switch segment {
            case .rest: return index < actual.count
            case .one: guard index < actual.count else { return false }
            case .literal(let literal): guard index < actual.count, actual[index] == literal else { return false }
            }
            index += 1
        }
        return index == actual.count
    }
}

/// A request path split into segments once for every pattern it is matched against. A path with an empty, `.` or
/// `..` segment (percent-encoded or not) has none: an upstream may read it as another path, so it matches nothing.
public struct RequestPathSegments: Sendable {
    let segments: [Substring]?
    let text: Substring

    public init(_ path: Substring) {
        text = path
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.first == "" { parts.removeFirst() }
        if parts.last == "" { parts.removeLast() }
        let ambiguous = parts.contains { part in
            part.isEmpty || part == "." || part == ".." || part.lowercased().replacingOccurrences(of: "%2e", with: ".").allSatisfy { $0 == "." }
        }
        segments = ambiguous ? nil : parts
    }
}
