import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A real JWKS endpoint over HTTP whose key set a test can change (rotation) and whose fetches it can count.
public final class JWKSServer: HTTPResponder, Sendable {
    public typealias Context = BasicRequestContext

    private struct State {
        var body: String
        var fetches = 0
        var cacheControl: String?
        var failing = false
    }

    private let state: Mutex<State>

    public init(keys: [[String: String]]) {
        state = Mutex(State(body: TestJWKS.json(keys)))
    }

    public var fetches: Int { state.withLock { $0.fetches } }

    public func serve(_ keys: [[String: String]]) { state.withLock { $0.body = TestJWKS.json(keys) } }

    public func serveRaw(_ body: String) { state.withLock { $0.body = body } }

    public func setCacheControl(_ value: String?) { state.withLock { $0.cacheControl = value } }

    /// Answers 500 while set, as an IdP in trouble does.
    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let (body, cacheControl, failing) = state.withLock { state in
            state.fetches += 1
            return (state.body, state.cacheControl, state.failing)
        }
        if failing { return Response(status: .internalServerError) }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let cacheControl { headers[.cacheControl] = cacheControl }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Runs `server` on a free loopback port around `body`, which gets the base URL.
public func withJWKSServer<Result: Sendable>(_ server: JWKSServer, _ body: (String) async throws -> Result) async throws -> Result {
    try await withUpstream(server) { port in try await body("http://127.0.0.1:\(port)") }
}
