import Foundation
import OpenAPIKit
import OpenAPIKit30

extension APIDocument {
    /// The URL the gateway serves an API's operations under: the gateway's public URL, plus the API's path prefix when
    /// the gateway strips it (the document's paths are then the upstream's, without it). When the prefix is kept, the
    /// upstream sees it too, so the document's paths already hold it.
    public static func gatewayServer(gatewayURL: String, pathPrefix: String, stripPrefix: Bool) -> URL? {
        var base = gatewayURL
        while base.hasSuffix("/") { base.removeLast() }
        let prefix = pathPrefix == "/" ? "" : pathPrefix
        return URL(string: base + (stripPrefix ? prefix : ""))
    }

    /// The document as JSON, in the OpenAPI version it was written in, servers and all.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        switch original {
        case .openAPI30(let document): return try encoder.encode(document)
        case .openAPI31(let document): return try encoder.encode(document)
        }
    }

    /// The document as the gateway's consumers call it: JSON, in the OpenAPI version it was written in, with
    /// `servers` replaced by the gateway's `server` alone.
    public func published(server: URL) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let description = "through the Portico gateway"
        switch original {
        case .openAPI30(var document):
            document.servers = [OpenAPIKit30.OpenAPI.Server(url: server, description: description)]
            return try encoder.encode(document)
        case .openAPI31(var document):
            document.servers = [OpenAPIKit.OpenAPI.Server(url: server, description: description)]
            return try encoder.encode(document)
        }
    }
}
