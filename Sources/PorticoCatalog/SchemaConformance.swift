import Foundation
import OpenAPIKit
import PorticoCore

/// Whether a JSON value fits an OpenAPI schema: types, `enum`, required and declared properties,
/// `additionalProperties`, array items, `allOf`/`oneOf`/`anyOf`/`not` and `$ref`s to the document's components.
/// Formats, lengths and numeric bounds are not checked. Each problem names the JSON path where it lies.
public struct SchemaConformance {
    let components: OpenAPI.Components

    public init(components: OpenAPI.Components) { self.components = components }

    public func problems(of value: JSONValue, against schema: JSONSchema, at path: String = "$") -> [String] {
        problems(of: value, against: schema, at: path, depth: 0)
    }

    private func problems(of value: JSONValue, against schema: JSONSchema, at path: String, depth: Int) -> [String] {
        guard depth < 32 else { return ["\(path): schemas nest deeper than 32 (a $ref cycle?)"] }
        if case .null = value, schema.nullable { return [] }
        if let allowed = schema.allowedValues, !allowed.isEmpty,
            !allowed.contains(where: { Self.equal(value, $0) })
        {
            return ["\(path): \(Self.describe(value)) is not one of \(allowed.map { "\($0.value)" }.joined(separator: ", "))"]
        }
        switch schema.value {
        case .reference(let reference, _):
            guard let target = components[reference] else { return ["\(path): the $ref \(reference.absoluteString) names no schema"] }
            return problems(of: value, against: target, at: path, depth: depth + 1)
        case .fragment:
            return []
        case .null:
            if case .null = value { return [] }
            return ["\(path): expected null, found \(Self.describe(value))"]
        case .boolean:
            if case .bool = value { return [] }
            return ["\(path): expected a boolean, found \(Self.describe(value))"]
        case .integer:
            if case .number(let number) = value, number.rounded() == number { return [] }
            return ["\(path): expected an integer, found \(Self.describe(value))"]
        case .number:
            if case .number = value { return [] }
            return ["\(path): expected a number, found \(Self.describe(value))"]
        case .string:
            if case .string = value { return [] }
            return ["\(path): expected a string, found \(Self.describe(value))"]
        case .array(_, let context):
            guard case .array(let items) = value else { return ["\(path): expected an array, found \(Self.describe(value))"] }
            guard let itemSchema = context.items else { return [] }
            return items.enumerated().flatMap { index, item in problems(of: item, against: itemSchema, at: "\(path)[\(index)]", depth: depth + 1) }
        case .object(_, let context):
            guard case .object(let fields) = value else { return ["\(path): expected an object, found \(Self.describe(value))"] }
            var found: [String] = []
            for name in context.requiredProperties where fields[name] == nil { found.append("\(path): the required property '\(name)' is missing") }
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                let fieldPath = "\(path).\(name)"
                if let declared = context.properties[name] {
                    found += problems(of: field, against: declared, at: fieldPath, depth: depth + 1)
                    continue
                }
                switch context.additionalProperties {
                case .a(false): found.append("\(path): the property '\(name)' is not in the schema")
                case .b(let extra): found += problems(of: field, against: extra, at: fieldPath, depth: depth + 1)
                case .a(true), nil: break
                }
            }
            return found
        case .all(let schemas, _):
            return schemas.flatMap { problems(of: value, against: $0, at: path, depth: depth + 1) }
        case .one(let schemas, _), .any(let schemas, _):
            let results = schemas.map { problems(of: value, against: $0, at: path, depth: depth + 1) }
            if results.contains(where: \.isEmpty) { return [] }
            return ["\(path): fits none of its \(schemas.count) alternatives (\(results.compactMap(\.first).joined(separator: "; ")))"]
        case .not(let excluded, _):
            return problems(of: value, against: excluded, at: path, depth: depth + 1).isEmpty ? ["\(path): fits a schema it must not"] : []
        }
    }

    private static func equal(_ value: JSONValue, _ allowed: AnyCodable) -> Bool {
        switch value {
        case .string(let text): return (allowed.value as? String) == text
        case .bool(let flag): return (allowed.value as? Bool) == flag
        case .number(let number): return (allowed.value as? Double) == number || (allowed.value as? Int).map(Double.init) == number
        case .null: return allowed.value is Void || allowed.value is NSNull || "\(allowed.value)" == "nil"
        case .array, .object: return false
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let number): "\(number)"
        case .string(let text): "'\(text.prefix(40))'"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
