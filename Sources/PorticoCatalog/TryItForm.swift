import Foundation
import OpenAPIKit
import PorticoCore

/// One operation as the portal's try-it form offers it: the parameters a caller may fill in (path, query, and the
/// headers the document names), and the body with its example.
public struct TryableOperation: Sendable {
    public enum Location: String, Sendable {
        case path, query, header
    }

    public struct Field: Sendable {
        public let name: String
        public let location: Location
        public let required: Bool
        /// The document's example, which prefills the field.
        public let example: String
        /// The header is the gateway's or the connection's to set: shown, never sent from the form.
        public let reserved: Bool
    }

    public let method: String
    /// As the gateway exposes it, prefix included.
    public let path: String
    public let summary: String
    public let anchor: String
    public let fields: [Field]
    public let bodyMediaType: String?
    public let bodyExample: String?
    public let bodyRequired: Bool

    /// The operation whose page anchor (`DocumentView.Operation.anchor`) is `anchor`, or nil when none has it.
    public init?(_ apiDocument: APIDocument, exposedPrefix: String, anchor: String) {
        let document = apiDocument.document
        let base = exposedPrefix == "/" ? "" : exposedPrefix
        for route in document.routes {
            let path = base + route.path.rawValue
            for endpoint in route.pathItem.endpoints {
                let method = endpoint.method.rawValue
                let operation = endpoint.operation
                guard DocumentView.anchor(operationId: operation.operationId, method: method, path: path) == anchor else { continue }
                self.method = method
                self.path = path
                self.anchor = anchor
                self.summary = operation.summary ?? ""
                self.fields = DocumentView.parameters(of: operation, shared: route.pathItem.parameters, components: document.components)
                    .compactMap(Self.field)
                let body = operation.requestBody.flatMap { document.components[$0] }
                // JSON first, as most consoles do; otherwise the document's first media type.
                let media = body.flatMap { body in
                    body.content.first { $0.key.rawValue.lowercased().contains("json") } ?? body.content.first
                }
                self.bodyMediaType = media?.key.rawValue
                self.bodyExample = media.flatMap { document.components[$0.value] }.flatMap {
                    DocumentView.example(of: $0, components: document.components)
                }
                self.bodyRequired = body?.required ?? false
                return
            }
        }
        return nil
    }

    private static func field(_ parameter: OpenAPI.Parameter) -> Field? {
        let location: Location
        switch parameter.location {
        case .path: location = .path
        case .query: location = .query
        case .header: location = .header
        case .cookie, .querystring: return nil
        }
        var example = ""
        if case .a(let context) = parameter.schemaOrContent, let value = context.example {
            example = ExampleText.text(value)
        }
        return Field(
            name: parameter.name, location: location, required: parameter.required, example: example,
            reserved: location == .header && TryItCall.isReserved(header: parameter.name))
    }
}

/// The request a try-it form asks for, checked: path parameters filled in, the query and headers given, the body.
/// Values come by field index (`p0`, `p1`, …), since a parameter's name may hold any character.
public struct TryItCall: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public let method: String
    /// Path and query, percent-encoded, as sent to the gateway.
    public let target: String
    public let headers: [Header]
    public let body: String?

    public static let maxBodyBytes = 1 << 20

    /// The form field of the operation's field at `index`.
    public static func fieldName(_ index: Int) -> String { "p\(index)" }

    public init(_ operation: TryableOperation, values: [String: String], body: String?) throws(PorticoError) {
        var path = operation.path
        var query: [String] = []
        var headers: [Header] = []
        for (index, field) in operation.fields.enumerated() {
            let name = Self.fieldName(index)
            let value = values[name] ?? ""
            if value.isEmpty {
                guard !field.required || field.reserved else {
                    throw .invalid(field: name, reason: "the \(field.location.rawValue) parameter '\(field.name)' is required")
                }
                continue
            }
            switch field.location {
            case .path:
                path = path.replacingOccurrences(of: "{\(field.name)}", with: Self.percentEncoded(value))
            case .query:
                query.append(Self.percentEncoded(field.name) + "=" + Self.percentEncoded(value))
            case .header:
                guard !field.reserved else { continue }
                guard value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) }) else {
                    throw .invalid(field: name, reason: "the header '\(field.name)' may not hold control characters or line breaks")
                }
                headers.append(Header(name: field.name, value: value.trimmingCharacters(in: .whitespaces)))
            }
        }
        let sentBody = (body ?? "").isEmpty ? nil : body
        if operation.bodyMediaType != nil, operation.bodyRequired, sentBody == nil {
            throw .invalid(field: "body", reason: "this operation requires a request body")
        }
        if let sentBody, sentBody.utf8.count > Self.maxBodyBytes {
            throw .invalid(field: "body", reason: "the body may be at most \(Self.maxBodyBytes >> 20) MiB")
        }
        if let mediaType = operation.bodyMediaType, sentBody != nil {
            headers.append(Header(name: HeaderNames.contentType, value: mediaType))
        }
        self.method = operation.method
        self.target = path + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        self.headers = headers
        self.body = operation.bodyMediaType == nil ? nil : sentBody
    }

    /// Headers that belong to the connection, the gateway or the credential, which the portal sets or leaves out.
    static func isReserved(header name: String) -> Bool {
        let lowered = name.lowercased()
        return [
            "authorization", "cookie", "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te",
            "trailer", "upgrade", "expect", "proxy-authorization",
        ].contains(lowered) || lowered.hasPrefix("x-portico-")
            || lowered.hasPrefix("x-forwarded-")
    }

    /// Everything but RFC 3986's unreserved characters percent-encoded, so a value stays one path segment or one
    /// query value.
    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
