import Foundation
import OpenAPIKit

/// What the portal shows of an API's document: its operations grouped by tag, each with its parameters, request
/// body and responses as readable rows (references resolved, cycles cut), descriptions as safe HTML, and a ready
/// `curl` line through the gateway. Built once per document and credential kind; no I/O.
public struct DocumentView: Sendable {
    public struct Group: Sendable {
        public let name: String
        public let descriptionHTML: String
        public let operations: [Operation]
    }

    public struct Operation: Sendable {
        public let method: String
        /// The path as the gateway exposes it.
        public let path: String
        public let operationId: String?
        public let summary: String
        public let descriptionHTML: String
        public let deprecated: Bool
        public let parameters: [Parameter]
        public let requestBody: [Content]
        public let requestBodyRequired: Bool
        public let responses: [Response]
        public let curl: String
        /// An id for the page's anchors: the operation id, or method and path.
        public let anchor: String
    }

    public struct Parameter: Sendable {
        public let name: String
        public let location: String
        public let required: Bool
        public let type: String
        public let typeAnchor: String?
        public let descriptionHTML: String
        public let example: String?
    }

    public struct Content: Sendable {
        public let mediaType: String
        public let schema: [SchemaRow]
        public let example: String?
    }

    public struct Response: Sendable {
        public let status: String
        public let descriptionHTML: String
        public let content: [Content]
    }

    /// One line of a schema shown as a table: nested properties carry a depth; a type naming a component carries
    /// the anchor of its table.
    public struct SchemaRow: Sendable {
        public let depth: Int
        public let name: String
        public let type: String
        public let typeAnchor: String?
        public let required: Bool
        public let descriptionHTML: String
    }

    /// A component schema, written out once for every table that names it.
    public struct NamedSchema: Sendable {
        public let name: String
        public let anchor: String
        public let descriptionHTML: String
        public let rows: [SchemaRow]
    }

    /// How a consumer's `curl` line carries their credential.
    public enum Credential: Sendable {
        case header(name: String, value: String)
        case query(name: String, value: String)
        case cookie(name: String, value: String)
    }

    public let title: String
    public let version: String
    public let descriptionHTML: String
    public let groups: [Group]
    /// The component schemas the operations name, and those they name in turn.
    public let schemas: [NamedSchema]
    public var operationCount: Int { groups.reduce(0) { $0 + $1.operations.count } }

    /// `exposedPrefix` is what the gateway puts before the document's paths: the API's prefix when it strips it.
    public init(_ apiDocument: APIDocument, gatewayURL: String, exposedPrefix: String, credential: Credential) {
        let document = apiDocument.document
        let markdown = MarkdownCache()
        var schemas = SchemaTable(components: document.components, markdown: markdown)
        var byTag: [String: [Operation]] = [:]
        var tagOrder: [String] = document.tags?.map(\.name) ?? []
        for route in document.routes {
            let path = (exposedPrefix == "/" ? "" : exposedPrefix) + route.path.rawValue
            let shared = route.pathItem.parameters
            for endpoint in route.pathItem.endpoints {
                let operation = Self.operation(
                    endpoint.operation, method: endpoint.method.rawValue, path: path, shared: shared, document: document, schemas: &schemas,
                    markdown: markdown, gatewayURL: gatewayURL, credential: credential)
                let tag = endpoint.operation.tags?.first ?? "Other"
                if !tagOrder.contains(tag) { tagOrder.append(tag) }
                byTag[tag, default: []].append(operation)
            }
        }
        let tagDescriptions = Dictionary((document.tags ?? []).map { ($0.name, $0.description ?? "") }, uniquingKeysWith: { first, _ in first })
        self.groups = tagOrder.compactMap { tag in
            guard let operations = byTag[tag] else { return nil }
            return Group(name: tag, descriptionHTML: markdown.html(tagDescriptions[tag]), operations: operations)
        }
        // Each component once; writing one out may name more, which follow it.
        var named: [NamedSchema] = []
        var index = 0
        while index < schemas.referenced.count {
            let name = schemas.referenced[index]
            index += 1
            guard let schema = document.components.schemas[OpenAPI.ComponentKey(stringLiteral: name)] else { continue }
            let rows = schemas.rows(of: schema)
            named.append(
                NamedSchema(name: name, anchor: SchemaTable.anchor(of: name), descriptionHTML: markdown.html(schema.description), rows: rows))
        }
        self.schemas = named
        self.title = document.info.title
        self.version = document.info.version
        self.descriptionHTML = markdown.html(document.info.description)
    }

    private static func operation(
        _ operation: OpenAPI.Operation, method: String, path: String, shared: OpenAPI.Parameter.Array, document: OpenAPI.Document,
        schemas: inout SchemaTable, markdown: MarkdownCache, gatewayURL: String, credential: Credential
    ) -> Operation {
        let parameters = Self.parameters(of: operation, shared: shared, components: document.components)
        let request = operation.requestBody.flatMap { document.components[$0] }
        var responses: [Response] = []
        for (status, either) in operation.responses {
            guard let response = document.components[either] else { continue }
            responses.append(
                Response(
                    status: status.rawValue, descriptionHTML: markdown.html(response.description),
                    content: contents(response.content, components: document.components, schemas: &schemas)))
        }
        let requestContent = request.map { contents($0.content, components: document.components, schemas: &schemas) } ?? []
        return Operation(
            method: method, path: path, operationId: operation.operationId, summary: operation.summary ?? "",
            descriptionHTML: markdown.html(operation.description), deprecated: operation.deprecated,
            parameters: parameters.map { parameter(of: $0, schemas: &schemas, markdown: markdown) }, requestBody: requestContent,
            requestBodyRequired: request?.required ?? false, responses: responses,
            curl: CurlLine.make(
                method: method, url: gatewayURL + path, parameters: parameters, body: requestContent.first, credential: credential),
            anchor: anchor(operationId: operation.operationId, method: method, path: path))
    }

    private static func parameter(of parameter: OpenAPI.Parameter, schemas: inout SchemaTable, markdown: MarkdownCache) -> Parameter {
        var type = "—"
        var anchor: String?
        var example: String?
        switch parameter.schemaOrContent {
        case .a(let context):
            switch context.schema {
            case .a(let reference):
                type = reference.name ?? "object"
                anchor = schemas.linked(type)
            case .b(let schema): (type, anchor) = schemas.typeName(of: schema)
            }
            example = context.example.map(ExampleText.text)
        case .b(let content):
            type = content.keys.first.map { "\($0.rawValue)" } ?? "—"
        }
        return Parameter(
            name: parameter.name, location: parameter.location.rawValue, required: parameter.required, type: type, typeAnchor: anchor,
            descriptionHTML: markdown.html(parameter.description), example: example)
    }

    private static func contents(_ map: OpenAPI.Content.Map, components: OpenAPI.Components, schemas: inout SchemaTable) -> [Content] {
        var contents: [Content] = []
        for (mediaType, either) in map {
            guard let content = components[either] else {
                contents.append(Content(mediaType: mediaType.rawValue, schema: [], example: nil))
                continue
            }
            contents.append(
                Content(
                    mediaType: mediaType.rawValue, schema: content.schema.map { schemas.rows(of: $0) } ?? [],
                    example: example(of: content, components: components)))
        }
        return contents
    }

    /// An operation's parameters with those of its path item it does not override (same name and location).
    static func parameters(of operation: OpenAPI.Operation, shared: OpenAPI.Parameter.Array, components: OpenAPI.Components)
        -> [OpenAPI.Parameter]
    {
        var parameters: [OpenAPI.Parameter] = operation.parameters.compactMap { components[$0] }
        for inherited in shared.compactMap({ components[$0] })
        where !parameters.contains(where: { $0.name == inherited.name && $0.location == inherited.location }) {
            parameters.insert(inherited, at: 0)
        }
        return parameters
    }

    /// A body's example: its own, or the first of its named examples that holds a value.
    static func example(of content: OpenAPI.Content, components: OpenAPI.Components) -> String? {
        let named = content.examples?.values.lazy.compactMap { components[$0] }.compactMap { $0.legacyValue ?? $0.dataValue }.first
        return (content.example ?? named).map(ExampleText.text)
    }

    static func anchor(operationId: String?, method: String, path: String) -> String {
        PageAnchor.id("op-", operationId ?? "\(method)-\(path)")
    }
}

/// An `id` for a page's links to a part of it: the prefix, then the name with anything but letters, digits, `-`
/// and `_` replaced by `-`.
enum PageAnchor {
    static func id(_ prefix: String, _ name: String) -> String {
        prefix + String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }
}
