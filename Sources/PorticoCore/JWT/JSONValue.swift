import Foundation

/// A JSON value as it came in a token's claims: nothing is assumed about its shape.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number):
            if let integer = Self.exactInteger(number) { try container.encode(integer) } else { try container.encode(number) }
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }

    /// The value as text when it is a scalar: a string as is, an integral number without a fraction, a boolean as
    /// `true`/`false`. Arrays, objects and null have no scalar text.
    public var scalarText: String? {
        switch self {
        case .string(let string): string
        case .number(let number): Self.exactInteger(number).map(String.init) ?? String(number)
        case .bool(let bool): bool ? "true" : "false"
        case .null, .array, .object: nil
        }
    }

    /// Scalars as one element; arrays as their scalar elements.
    public var scalarTexts: [String] {
        if case .array(let elements) = self { return elements.compactMap(\.scalarText) }
        return scalarText.map { [$0] } ?? []
    }

    /// The value when it is a string.
    public var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var number: Double? {
        if case .number(let number) = self { return number }
        return nil
    }

    private static func exactInteger(_ number: Double) -> Int64? {
        guard number.rounded() == number, abs(number) < 9_007_199_254_740_992 else { return nil }
        return Int64(number)
    }
}
