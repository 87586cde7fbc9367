import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PorticoCore
import Synchronization

/// A real OpenID provider's discovery and key-set endpoints over HTTP, with a document a test can break on purpose
/// (another issuer, a missing endpoint, a broken key set) and fetches it can count.
public final class TestOIDCProvider: HTTPResponder, Sendable {
    public typealias Context = BasicRequestContext

    private struct State {
        var issuer = ""
        var overrides: [String: JSONValue?] = [:]
        var jwks: String
        var discoveryFetches = 0
        var keySetFailing = false
    }

    private let state: Mutex<State>
    /// The key the provider signs with, published in its key set as `kid` "k1".
    public let signingKey: TestSigningKey

    public init() throws {
        let key = try TestSigningKey.rsa("RS256")
        signingKey = key
        state = Mutex(State(jwks: TestJWKS.json([key.jwk(kid: "k1")])))
    }

    public var discoveryFetches: Int { state.withLock { $0.discoveryFetches } }

    /// Sets a field of the discovery document to `value`, or removes it with nil.
    public func override(_ field: String, with value: JSONValue?) { state.withLock { $0.overrides[field] = .some(value) } }

    public func serveKeySet(_ body: String) { state.withLock { $0.jwks = body } }

    /// Answers 503 for its key set while set, as a provider in trouble does.
    public func setKeySetFailing(_ failing: Bool) { state.withLock { $0.keySetFailing = failing } }

    func start(issuer: String) { state.withLock { $0.issuer = issuer } }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let (issuer, overrides, jwks, keySetFailing) = state.withLock { state in
            if request.uri.path.hasSuffix("/.well-known/openid-configuration") { state.discoveryFetches += 1 }
            return (state.issuer, state.overrides, state.jwks, state.keySetFailing)
        }
        switch request.uri.path {
        case "/.well-known/openid-configuration":
            var document: [String: JSONValue] = [
                "issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/authorize"),
                "token_endpoint": .string(issuer + "/token"), "jwks_uri": .string(issuer + "/jwks"),
                "userinfo_endpoint": .string(issuer + "/userinfo"), "end_session_endpoint": .string(issuer + "/logout"),
                "response_types_supported": .array([.string("code")]), "subject_types_supported": .array([.string("public")]),
                "id_token_signing_alg_values_supported": .array([.string("RS256")]),
                "code_challenge_methods_supported": .array([.string("S256")]),
            ]
            for (field, value) in overrides { document[field] = value }
            return Self.json(String(decoding: try JSONEncoder().encode(document), as: UTF8.self))
        case "/jwks":
            return keySetFailing ? Response(status: .serviceUnavailable) : Self.json(jwks)
        default:
            return Response(status: .notFound)
        }
    }

    private static func json(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Runs `provider` on a free loopback port around `body`, which gets its issuer URL.
public func withTestOIDCProvider<Result: Sendable>(_ provider: TestOIDCProvider, _ body: (String) async throws -> Result) async throws -> Result {
    try await withUpstream(provider) { port in
        let issuer = "http://127.0.0.1:\(port)"
        provider.start(issuer: issuer)
        return try await body(issuer)
    }
}
