import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A small upstream for demos and tests (`portico demo-upstream`): it answers every request with a JSON
/// description of what it received, or streams a request body straight back; `GET /openapi.json` is its own
/// OpenAPI document. `?delay_ms=N` (at most 60 000)
/// waits before answering, to show the gateway's 504.
public struct EchoUpstream: HTTPResponder {
    public typealias Context = BasicRequestContext

    public init() {}

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        if request.method == .get, request.uri.path == "/openapi.json" {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: EchoDocument.json)))
        }
        if let delay = request.uri.queryParameters.get("delay_ms", as: Int.self), delay > 0 {
            try await Task.sleep(for: .milliseconds(min(delay, 60_000)))
        }
        var headers: HTTPFields = [
            EchoHeaders.method: request.method.rawValue,
            EchoHeaders.path: request.uri.path,
            EchoHeaders.query: request.uri.query ?? "",
        ]
        let hasBody = request.headers[.contentLength].flatMap(Int.init).map { $0 > 0 } ?? (request.headers[.transferEncoding] != nil)
        if hasBody {
            if let type = request.headers[.contentType] { headers[.contentType] = type }
            if let length = request.headers[.contentLength] { headers[.contentLength] = length }
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: request.body))
        }
        var seen: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            seen[name] = seen[name].map { $0 + ", " + field.value } ?? field.value
        }
        let description = EchoDescription(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: seen)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(description))))
    }
}

/// The echo's answer to a request without a body: what it received.
public struct EchoDescription: Codable, Sendable {
    public var method: String
    public var path: String
    public var query: String
    public var headers: [String: String]
}

/// Headers the echo adds to every answer, so a streamed body still says what was asked.
enum EchoHeaders {
    static let method = named("X-Upstream-Method")
    static let path = named("X-Upstream-Path")
    static let query = named("X-Upstream-Query")

    /// `HTTPField.Name` only has a failable initialiser; these are fixed, valid tokens, so a failure here is a typo
    /// in this file, caught by the first test that runs.
    private static func named(_ literal: StaticString) -> HTTPField.Name {
        guard let name = HTTPField.Name("\(literal)") else { preconditionFailure("'\(literal)' is not an HTTP field name") }
        return name
    }
}
