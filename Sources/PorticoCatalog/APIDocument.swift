import Crypto
import Foundation
import OpenAPIKit
import OpenAPIKit30
import OpenAPIKitCompat
import PorticoCore
import Yams

/// An API's OpenAPI document (3.0 or 3.1, JSON or YAML), parsed and validated: the text as it was given, the model
/// in the version it was written in (for serving it back), and the same model as 3.1 (for rendering).
public struct APIDocument: Sendable {
    public enum Format: String, Sendable, Codable { case json, yaml }

    /// The document in the OpenAPI version it was written in.
    public enum Original: Sendable {
        case openAPI30(OpenAPIKit30.OpenAPI.Document)
        case openAPI31(OpenAPIKit.OpenAPI.Document)
    }

    public let format: Format
    public let source: String
    public let original: Original
    /// As 3.1, whatever it was written in: what the portal renders.
    public let document: OpenAPIKit.OpenAPI.Document
    /// The `openapi` field as written, e.g. `3.0.3`.
    public let specVersion: String
    /// SHA-256 of the source text, hex.
    public let sha256: String

    public var title: String { document.info.title }
    public var version: String { document.info.version }
    public var operationCount: Int { document.routes.reduce(0) { $0 + $1.pathItem.endpoints.count } }

    /// Every operation with its method, path template, operation id and tags, as operation filters match them.
    public var operations: [DocumentOperation] {
        document.routes.flatMap { route in
            route.pathItem.endpoints.map { endpoint in
                DocumentOperation(
                    method: endpoint.method.rawValue, path: route.path.rawValue, operationId: endpoint.operation.operationId,
                    tags: endpoint.operation.tags ?? [])
            }
        }
    }

    /// The largest document taken: a big public API's description is a few MiB.
    public static let maxBytes = 8 << 20

    /// Parses and validates `source`; a document that cannot be used is `PorticoError.invalid` naming the JSON path
    /// of the first problem (`$.paths['/pets'].get.responses`) and how many more there are. `validating` false skips
    /// OpenAPIKit's validation (a pass over the whole document) for a document already validated when it was stored.
    public init(parsing source: String, validating: Bool = true) throws(PorticoError) {
        guard source.utf8.count <= Self.maxBytes else {
            throw .tooLarge("the OpenAPI document is larger than \(Self.maxBytes >> 20) MiB")
        }
        let trimmed = source.drop { $0.isWhitespace }
        guard !trimmed.isEmpty else { throw .invalid(field: "document", reason: "is empty") }
        let format: Format = trimmed.first == "{" ? .json : .yaml
        let probe = try Self.decode(VersionProbe.self, from: source, format: format)
        if probe.swagger != nil {
            throw .invalid(field: "$.swagger", reason: "Swagger 2.0 is not supported: convert the document to OpenAPI 3.0 or 3.1 first")
        }
        guard let specVersion = probe.openapi else {
            throw .invalid(field: "$.openapi", reason: "is required: the OpenAPI version, 3.0.x or 3.1.x")
        }
        let original: Original
        let document: OpenAPIKit.OpenAPI.Document
        if specVersion.hasPrefix("3.0.") {
            let parsed = try Self.decode(OpenAPIKit30.OpenAPI.Document.self, from: source, format: format)
            if validating { try Self.check { _ = try parsed.validate(strict: false) } }
            original = .openAPI30(parsed)
            document = parsed.convert(to: .v3_1_1)
        } else if specVersion.hasPrefix("3.1.") {
            let parsed = try Self.decode(OpenAPIKit.OpenAPI.Document.self, from: source, format: format)
            if validating { try Self.check { _ = try parsed.validate(strict: false) } }
            original = .openAPI31(parsed)
            document = parsed
        } else {
            throw .invalid(field: "$.openapi", reason: "version \(specVersion) is not supported: 3.0.x or 3.1.x")
        }
        self.format = format
        self.source = source
        self.original = original
        self.document = document
        self.specVersion = specVersion
        self.sha256 = SHA256.hash(data: Data(source.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Only the version fields, read before the whole document so that the right model decodes it.
    private struct VersionProbe: Decodable {
        let openapi: String?
        let swagger: String?
    }

    private static func decode<T: Decodable>(_ type: T.Type, from source: String, format: Format) throws(PorticoError) -> T {
        do {
            switch format {
            case .json:
                // JSON is YAML too, and Yams keeps the order members were written in (paths, properties), where
                // Foundation's decoder does not; text Yams cannot read (a tab where YAML allows none) is left to it.
                do {
                    return try YAMLDecoder().decode(T.self, from: source)
                } catch is YamlError {
                    return try JSONDecoder().decode(T.self, from: Data(source.utf8))
                }
            case .yaml: return try YAMLDecoder().decode(T.self, from: source)
            }
        } catch {
            if let syntax = syntaxProblem(error) {
                throw .invalid(field: "document", reason: "is not valid \(format == .json ? "JSON" : "YAML"): \(syntax)")
            }
            let described = OpenAPIKit.OpenAPI.Error(from: error)
            throw .invalid(field: DocumentPath.text(described.codingPath), reason: described.localizedDescription)
        }
    }

    /// What is wrong when the text is not JSON or YAML at all (rather than a document OpenAPIKit refuses).
    private static func syntaxProblem(_ error: any Error) -> String? {
        if let yaml = error as? YamlError { return "\(yaml)" }
        guard case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty,
            !(context.underlyingError is any OpenAPIError)
        else { return nil }
        return context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
    }

    private static func check(_ validate: () throws -> Void) throws(PorticoError) {
        do {
            try validate()
        } catch let errors as OpenAPIKit.ValidationErrorCollection {
            try throwFirst(errors.values.map { ($0.codingPath, $0.reason) })
        } catch let errors as OpenAPIKit30.ValidationErrorCollection {
            try throwFirst(errors.values.map { ($0.codingPath, $0.reason) })
        } catch {
            throw .invalid(field: "document", reason: "\(error)")
        }
    }

    private static func throwFirst(_ problems: [(path: [any CodingKey], reason: String)]) throws(PorticoError) {
        guard let first = problems.first else { return }
        let more = problems.count > 1 ? " (and \(problems.count - 1) more problem\(problems.count == 2 ? "" : "s"))" : ""
        throw .invalid(field: DocumentPath.text(first.path), reason: first.reason + more)
    }
}

/// Where in a document a problem is, written as a JSONPath: `$.paths['/pets'].get.parameters[0]`.
enum DocumentPath {
    static func text(_ path: [any CodingKey]) -> String {
        "$"
            + path.map { key in
                if let index = key.intValue { return "[\(index)]" }
                let name = key.stringValue
                let plain = !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
                return plain ? ".\(name)" : "['\(name.replacingOccurrences(of: "'", with: "\\'"))']"
            }.joined()
    }
}
