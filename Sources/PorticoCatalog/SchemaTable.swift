import Foundation
import OpenAPIKit

/// JSON Schemas as rows of a table: an object's properties one per row, with inline nested objects and arrays
/// indented under them. A `$ref` at the top of a body is resolved (its properties are the table); a `$ref` inside
/// is a row naming the component, linked to the component's own table (`DocumentView.schemas`), so each
/// component is written out once per page and a recursive schema (a tree, a linked list) stops at its name.
/// Depth and rows are capped for documents with very deep or very wide inline schemas.
struct SchemaTable {
    let components: OpenAPI.Components
    let markdown: MarkdownCache
    static let maxDepth = 8
    static let maxRows = 400
    /// The components named by the tables built so far, in the order they were first met.
    private(set) var referenced: [String] = []
    private var referencedSet: Set<String> = []

    init(components: OpenAPI.Components, markdown: MarkdownCache) {
        self.components = components
        self.markdown = markdown
    }

    static func anchor(of name: String) -> String { PageAnchor.id("schema-", name) }

    /// The rows of a body's or a component's schema; a top-level `$ref` is resolved.
    mutating func rows(of schema: JSONSchema) -> [DocumentView.SchemaRow] {
        var rows: [DocumentView.SchemaRow] = []
        var truncated = 0
        var top = schema
        if case .reference(let reference, _) = schema.value, let target = components[reference] {
            if let name = reference.name { note(name) }
            top = target
        }
        if isStructured(top) {
            children(of: top, depth: 0, into: &rows, truncated: &truncated)
        } else {
            add(name: "(body)", schema: top, required: false, depth: 0, into: &rows, truncated: &truncated)
        }
        if rows.isEmpty, case .object = top.value {
            rows.append(
                .init(depth: 0, name: "(object)", type: "object", typeAnchor: nil, required: false, descriptionHTML: markdown.html(top.description)))
        }
        if truncated > 0 {
            rows.append(.init(depth: 0, name: "…", type: "", typeAnchor: nil, required: false, descriptionHTML: "\(truncated) more rows not shown"))
        }
        return rows
    }

    private mutating func children(of schema: JSONSchema, depth: Int, into rows: inout [DocumentView.SchemaRow], truncated: inout Int) {
        guard depth < Self.maxDepth else { return }
        switch schema.value {
        case .object(_, let object):
            let requiredNames = Set(object.requiredProperties)
            for (property, child) in object.properties {
                add(name: property, schema: child, required: requiredNames.contains(property), depth: depth, into: &rows, truncated: &truncated)
            }
            if case .b(let values)? = object.additionalProperties {
                add(name: "{any key}", schema: values, required: false, depth: depth, into: &rows, truncated: &truncated)
            }
        case .array(_, let array):
            if let items = array.items, isInline(items) {
                add(name: "[item]", schema: items, required: false, depth: depth, into: &rows, truncated: &truncated)
            }
        case .all(let parts, _), .one(let parts, _), .any(let parts, _):
            for (index, part) in parts.enumerated() {
                add(name: "(\(index + 1))", schema: part, required: false, depth: depth, into: &rows, truncated: &truncated)
            }
        default:
            break
        }
    }

    /// One row for `schema`, then its inline structure under it; a reference is a row with a link, not expanded.
    private mutating func add(
        name: String, schema: JSONSchema, required: Bool, depth: Int, into rows: inout [DocumentView.SchemaRow], truncated: inout Int
    ) {
        guard rows.count < Self.maxRows else {
            truncated += 1
            return
        }
        let (type, anchor) = typeName(of: schema)
        rows.append(
            .init(depth: depth, name: name, type: type, typeAnchor: anchor, required: required, descriptionHTML: markdown.html(schema.description)))
        if isInline(schema) { children(of: schema, depth: depth + 1, into: &rows, truncated: &truncated) }
    }

    /// An object, array or combination written in place (not a `$ref`) whose parts are worth rows of their own.
    private func isInline(_ schema: JSONSchema) -> Bool {
        switch schema.value {
        case .object(_, let object): !object.properties.isEmpty || object.additionalProperties?.b != nil
        case .array(_, let array): array.items.map { isInline($0) } ?? false
        case .all, .one, .any: true
        default: false
        }
    }

    private func isStructured(_ schema: JSONSchema) -> Bool {
        switch schema.value {
        case .object, .array, .all, .one, .any: true
        default: false
        }
    }

    private mutating func note(_ name: String) {
        if referencedSet.insert(name).inserted { referenced.append(name) }
    }

    /// Notes a component named outside a schema (a parameter's `$ref`) and gives the anchor of its table.
    mutating func linked(_ name: String) -> String {
        note(name)
        return Self.anchor(of: name)
    }

    /// A short type for a column (`string (date-time)`, `array of Pet`, `one of 2`, with allowed values) and the
    /// anchor of the component it names, if any.
    mutating func typeName(of schema: JSONSchema) -> (String, String?) {
        var text: String
        var anchor: String?
        switch schema.value {
        case .reference(let reference, _):
            let name = reference.name ?? "object"
            note(name)
            return (name, Self.anchor(of: name))
        case .array(_, let array):
            if let items = array.items {
                let (itemType, itemAnchor) = typeName(of: items)
                text = "array of " + itemType
                anchor = itemAnchor
            } else {
                text = "array"
            }
        case .all(let parts, _): text = "all of \(parts.count)"
        case .one(let parts, _): text = "one of \(parts.count)"
        case .any(let parts, _): text = "any of \(parts.count)"
        case .not: text = "not"
        case .fragment: text = "any"
        default:
            text = schema.jsonType?.rawValue ?? "any"
            if let format = schema.formatString, !format.isEmpty { text += " (\(format))" }
        }
        if let values = schema.allowedValues, !values.isEmpty {
            text += ": " + values.prefix(8).map { "\($0.value ?? "null")" }.joined(separator: ", ") + (values.count > 8 ? ", …" : "")
        }
        if schema.nullable { text += ", or null" }
        return (text, anchor)
    }
}

/// Descriptions rendered once each: a large document repeats the same text across many operations and fields.
final class MarkdownCache {
    private var rendered: [String: String] = [:]

    func html(_ markdown: String?) -> String {
        guard let markdown, !markdown.isEmpty else { return "" }
        if let hit = rendered[markdown] { return hit }
        let html = SafeMarkdown.html(markdown)
        rendered[markdown] = html
        return html
    }
}

/// An example value as the page shows it: JSON, indented.
enum ExampleText {
    static func text(_ value: AnyCodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let string = value.value as? String { return string }
        guard let data = try? encoder.encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
