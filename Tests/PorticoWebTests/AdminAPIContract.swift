import Foundation
import OpenAPIKit
import PorticoCatalog
import PorticoCore
import PorticoTestSupport
import PorticoWeb

/// The admin API's own OpenAPI document, as the tests hold the API to it: every call `AdminClient` makes is found
/// among its operations, and its request (when accepted) and its answer are checked against their schemas.
struct AdminAPIContract: Sendable {
    static let shared: AdminAPIContract? = {
        let file = TestDatabase.templatesFolder.appendingPathComponent(PageRenderer.adminAPIDocumentFile)
        guard let text = try? String(contentsOf: file, encoding: .utf8), let document = try? APIDocument(parsing: text) else { return nil }
        return AdminAPIContract(document: document.document)
    }()

    let document: OpenAPI.Document

    /// `METHOD /path` of every operation, the path as the document writes it (under `/api/v1`).
    var operations: Set<String> {
        Set(document.routes.flatMap { route in route.pathItem.endpoints.map { "\($0.method.rawValue) \(route.path.rawValue)" } })
    }

    /// What does not fit the document in one exchange; `path` is under `/api/v1`, with its query.
    func problems(method: String, path: String, request: Data?, status: Int, contentType: String?, response: Data) -> [String] {
        let bare = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let (route, operation) = operation(method: method, path: bare) else {
            return ["\(method) \(bare) is not in the admin API's document"]
        }
        let label = "\(method) \(route)"
        let conformance = SchemaConformance(components: document.components)
        var found: [String] = []
        if (200..<300).contains(status), let request, !request.isEmpty,
            let requestBody = operation.requestBody, let body = document.components[requestBody], let content = body.content[.json],
            let schema = document.components[content]?.schema
        {
            // A body that is not JSON was sent as one of the operation's other media types (a YAML document).
            found += check(request, against: schema, conformance, orOtherMediaTypes: body.content.count > 1).map { "\(label) request: \($0)" }
        }
        let responses = operation.responses
        guard let either = responses[.status(code: status)] ?? responses[.default], let answer = document.components[either] else {
            return found + ["\(label): status \(status) is not documented"]
        }
        guard contentType?.lowercased().hasPrefix("application/json") == true, !response.isEmpty else { return found }
        guard let content = answer.content[.json], let schema = document.components[content]?.schema else {
            return found + ["\(label): a JSON answer to \(status) is not documented"]
        }
        return found + check(response, against: schema, conformance).map { "\(label) \(status): \($0)" }
    }

    private func check(_ data: Data, against schema: JSONSchema, _ conformance: SchemaConformance, orOtherMediaTypes: Bool = false) -> [String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return orOtherMediaTypes ? [] : ["not JSON"] }
        return conformance.problems(of: value, against: schema)
    }

    private func operation(method: String, path: String) -> (String, OpenAPI.Operation)? {
        let segments = path.split(separator: "/")
        for route in document.routes {
            let template = route.path.components
            guard template.count == segments.count,
                zip(template, segments).allSatisfy({ $0.hasPrefix("{") || $0 == String($1) })
            else { continue }
            if let endpoint = route.pathItem.endpoints.first(where: { $0.method.rawValue == method }) {
                return (route.path.rawValue, endpoint.operation)
            }
        }
        return nil
    }
}
