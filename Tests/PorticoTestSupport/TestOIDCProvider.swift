import AsyncHTTPClient
import Crypto
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
        /// What the authorization endpoint signs in as, and how the ID token comes out.
        var user: [String: JSONValue] = ["sub": .string("ada"), "email": .string("ada@example.com"), "name": .string("Ada")]
        var idToken = IDTokenStyle()
        var userInfoOverrides: [String: JSONValue] = [:]
        var codes: [String: Grant] = [:]
        var accessTokens: [String: [String: JSONValue]] = [:]
        var signing: (key: TestSigningKey, kid: String)
        var lastAuthorization: [String: String] = [:]
        var endSessions: [[String: String]] = []
        var answersWithIssuer = false
        var down = false
        var refreshTokens: [String: [String: JSONValue]] = [:]
        var accessTokenLifetime = 300
        var refreshes = 0
    }

    /// A code issued by the authorization endpoint, used once.
    private struct Grant {
        let clientId: String
        let redirectURI: String
        let nonce: String?
        let challenge: String
        let claims: [String: JSONValue]
    }

    /// How the next ID tokens are made: claims replaced or removed, and how they are signed.
    public struct IDTokenStyle: Sendable {
        public var claims: [String: JSONValue?] = [:]
        public var signing: Signing = .providerKey

        public enum Signing: Sendable {
            case providerKey
            /// With the provider's key, without a `kid` in the header.
            case providerKeyWithoutKid
            /// With another key of the same kind under the provider's `kid`: a bad signature.
            case otherKey(TestSigningKey)
            /// `alg: none`, no signature.
            case unsigned
        }

        public init() {}
    }

    /// The client Portico is registered as.
    public static let clientId = "portico"
    public static let clientSecret = "provider client secret"

    private let state: Mutex<State>
    /// The key the provider signs with, published in its key set as `kid` "k1".
    public let signingKey: TestSigningKey

    public init() throws {
        let key = try TestSigningKey.rsa("RS256")
        signingKey = key
        state = Mutex(State(jwks: TestJWKS.json([key.jwk(kid: "k1")]), signing: (key, "k1")))
    }

    /// The user the authorization endpoint signs in (its claims, `sub` included).
    public func signIn(as claims: [String: JSONValue]) { state.withLock { $0.user = claims } }

    public func styleIDTokens(_ style: IDTokenStyle) { state.withLock { $0.idToken = style } }

    /// Claims UserInfo answers with instead of the user's.
    public func overrideUserInfo(_ claims: [String: JSONValue]) { state.withLock { $0.userInfoOverrides = claims } }

    /// Puts `iss` in authorization responses (RFC 9207); advertise it with `override`.
    public func answerWithIssuer(_ on: Bool) { state.withLock { $0.answersWithIssuer = on } }

    /// How long access tokens last (`expires_in`), in seconds.
    public func setAccessTokenLifetime(_ seconds: Int) { state.withLock { $0.accessTokenLifetime = seconds } }

    /// Refuses every refresh token issued so far, as when the user signed out or was removed at the provider.
    public func revokeRefreshTokens() { state.withLock { $0.refreshTokens = [:] } }

    /// How many refresh grants were answered.
    public var refreshes: Int { state.withLock { $0.refreshes } }

    /// Answers 503 on every endpoint while set, as a provider that is down.
    public func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    /// A new signing key under a new `kid`, the key set holding only it from now on.
    public func rotateKey() throws {
        let key = try TestSigningKey.rsa("RS256")
        state.withLock { state in
            state.signing = (key, "k2")
            state.jwks = TestJWKS.json([key.jwk(kid: "k2")])
        }
    }

    /// The issuer it serves as (its URL), once started.
    public var issuerForTests: String { state.withLock { $0.issuer } }

    /// The query of the last authorization request.
    public var lastAuthorization: [String: String] { state.withLock { $0.lastAuthorization } }
    /// The queries the end-session endpoint was called with.
    public var endSessions: [[String: String]] { state.withLock { $0.endSessions } }

    public var discoveryFetches: Int { state.withLock { $0.discoveryFetches } }

    /// Sets a field of the discovery document to `value`, or removes it with nil.
    public func override(_ field: String, with value: JSONValue?) { state.withLock { $0.overrides[field] = .some(value) } }

    public func serveKeySet(_ body: String) { state.withLock { $0.jwks = body } }

    /// Answers 503 for its key set while set, as a provider in trouble does.
    public func setKeySetFailing(_ failing: Bool) { state.withLock { $0.keySetFailing = failing } }

    func start(issuer: String) { state.withLock { $0.issuer = issuer } }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let (issuer, overrides, jwks, keySetFailing, down) = state.withLock { state in
            if request.uri.path.hasSuffix("/.well-known/openid-configuration") { state.discoveryFetches += 1 }
            return (state.issuer, state.overrides, state.jwks, state.keySetFailing, state.down)
        }
        if down { return Response(status: .serviceUnavailable) }
        switch request.uri.path {
        case "/authorize":
            return authorize(query(request.uri.query ?? ""), issuer: issuer)
        case "/token":
            let body = try await request.body.collect(upTo: 1 << 16)
            return try await token(form: query(String(buffer: body)), authorization: request.headers[.authorization], issuer: issuer)
        case "/userinfo":
            return userInfo(authorization: request.headers[.authorization])
        case "/logout":
            let parameters = query(request.uri.query ?? "")
            state.withLock { $0.endSessions.append(parameters) }
            return Response(status: .ok)
        case "/.well-known/openid-configuration":
            var document: [String: JSONValue] = [
                "issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/authorize"),
                "token_endpoint": .string(issuer + "/token"), "jwks_uri": .string(issuer + "/jwks"),
                "userinfo_endpoint": .string(issuer + "/userinfo"), "end_session_endpoint": .string(issuer + "/logout"),
                "response_types_supported": .array([.string("code")]), "subject_types_supported": .array([.string("public")]),
                "id_token_signing_alg_values_supported": .array([.string("RS256")]),
                "code_challenge_methods_supported": .array([.string("S256")]),
                "token_endpoint_auth_methods_supported": .array([.string("client_secret_basic"), .string("client_secret_post")]),
            ]
            for (field, value) in overrides { document[field] = value }
            return Self.json(String(decoding: try JSONEncoder().encode(document), as: UTF8.self))
        case "/jwks":
            return keySetFailing ? Response(status: .serviceUnavailable) : Self.json(jwks)
        default:
            return Response(status: .notFound)
        }
    }

    private func query(_ text: String) -> [String: String] {
        Dictionary(URLEncodedForm.pairs(in: text).map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Signs the current user in at once (no login page) and sends the browser back with a code, as a provider
    /// with a remembered session does. Refuses requests without PKCE.
    private func authorize(_ parameters: [String: String], issuer: String) -> Response {
        state.withLock { $0.lastAuthorization = parameters }
        guard parameters["response_type"] == "code", let clientId = parameters["client_id"], let redirectURI = parameters["redirect_uri"],
            let challenge = parameters["code_challenge"], parameters["code_challenge_method"] == "S256"
        else { return Self.json(#"{"error": "invalid_request"}"#, status: .badRequest) }
        let code = UUID().uuidString
        let withIssuer = state.withLock { state in
            state.codes[code] = Grant(
                clientId: clientId, redirectURI: redirectURI, nonce: parameters["nonce"], challenge: challenge, claims: state.user)
            return state.answersWithIssuer
        }
        var answer = [("code", code)]
        if let state = parameters["state"] { answer.append(("state", state)) }
        if withIssuer { answer.append(("iss", issuer)) }
        return Response(status: .seeOther, headers: [.location: redirectURI + "?" + URLEncodedForm.body(answer)])
    }

    /// The authorization code grant with PKCE and client authentication (basic or post); a code works once.
    private func token(form: [String: String], authorization: String?, issuer: String) async throws -> Response {
        var clientId = form["client_id"]
        var secret = form["client_secret"]
        if let authorization, authorization.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
        {
            let parts = decoded.split(separator: ":", maxSplits: 1).map { URLEncodedForm.pairs(in: "x=" + $0).first?.value ?? "" }
            clientId = parts.first
            secret = parts.count > 1 ? parts[1] : nil
        }
        guard clientId == Self.clientId, secret == Self.clientSecret else {
            return Self.json(#"{"error": "invalid_client"}"#, status: .unauthorized)
        }
        if form["grant_type"] == "refresh_token" { return try refresh(form["refresh_token"] ?? "") }
        let grant = state.withLock { state in form["code"].flatMap { state.codes.removeValue(forKey: $0) } }
        guard let grant, form["grant_type"] == "authorization_code", grant.redirectURI == form["redirect_uri"] else {
            return Self.json(#"{"error": "invalid_grant", "error_description": "the code is unknown or used"}"#, status: .badRequest)
        }
        guard let verifier = form["code_verifier"], Base64URL.encode(SHA256.hash(data: Array(verifier.utf8))) == grant.challenge else {
            return Self.json(#"{"error": "invalid_grant", "error_description": "PKCE verification failed"}"#, status: .badRequest)
        }
        let (style, signing) = state.withLock { ($0.idToken, $0.signing) }
        let now = Date().timeIntervalSince1970
        var claims = grant.claims
        claims["iss"] = .string(issuer)
        claims["aud"] = .string(grant.clientId)
        claims["iat"] = .number(now)
        claims["exp"] = .number(now + 300)
        if let nonce = grant.nonce { claims["nonce"] = .string(nonce) }
        for (name, value) in style.claims { claims[name] = value }
        let idToken: String
        switch style.signing {
        case .providerKey: idToken = try await signing.key.sign(claims, kid: signing.kid)
        case .providerKeyWithoutKid: idToken = try await signing.key.sign(claims)
        case .otherKey(let other): idToken = try await other.sign(claims, kid: signing.kid)
        case .unsigned:
            let payload = try JSONEncoder().encode(JSONValue.object(claims))
            idToken = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(payload) + "."
        }
        let (accessToken, refreshToken) = ("at-" + UUID().uuidString, "rt-" + UUID().uuidString)
        let lifetime = state.withLock { state in
            state.accessTokens[accessToken] = grant.claims
            state.refreshTokens[refreshToken] = grant.claims
            return state.accessTokenLifetime
        }
        let body: [String: JSONValue] = [
            "access_token": .string(accessToken), "token_type": .string("Bearer"), "expires_in": .number(Double(lifetime)),
            "id_token": .string(idToken), "refresh_token": .string(refreshToken),
        ]
        return Self.json(String(decoding: try JSONEncoder().encode(body), as: UTF8.self))
    }

    /// The refresh grant, rotating the refresh token: each one works once.
    private func refresh(_ presented: String) throws -> Response {
        let (accessToken, refreshToken) = ("at-" + UUID().uuidString, "rt-" + UUID().uuidString)
        let lifetime = state.withLock { state -> Int? in
            guard let claims = state.refreshTokens.removeValue(forKey: presented) else { return nil }
            state.accessTokens[accessToken] = claims
            state.refreshTokens[refreshToken] = claims
            state.refreshes += 1
            return state.accessTokenLifetime
        }
        guard let lifetime else {
            return Self.json(#"{"error": "invalid_grant", "error_description": "the refresh token is not valid"}"#, status: .badRequest)
        }
        let body: [String: JSONValue] = [
            "access_token": .string(accessToken), "token_type": .string("Bearer"), "expires_in": .number(Double(lifetime)),
            "refresh_token": .string(refreshToken),
        ]
        return Self.json(String(decoding: try JSONEncoder().encode(body), as: UTF8.self))
    }

    private func userInfo(authorization: String?) -> Response {
        let claims = state.withLock { state -> [String: JSONValue]? in
            guard let authorization, authorization.hasPrefix("Bearer "), var claims = state.accessTokens[String(authorization.dropFirst(7))]
            else { return nil }
            for (name, value) in state.userInfoOverrides { claims[name] = value }
            return claims
        }
        guard let claims, let body = try? JSONEncoder().encode(JSONValue.object(claims)) else {
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
        }
        return Self.json(String(decoding: body, as: UTF8.self))
    }

    private static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension TestOIDCProvider {
    /// What a browser does at the authorization endpoint: GET the URL Portico sent it to, and read where the
    /// provider sends it next.
    public func authorize(_ url: String) async throws -> (status: Int, location: String?) {
        let answer = try await ProviderBrowser.send(url)
        return (answer.status, answer.location)
    }
}

/// A browser's hops at an identity provider, one at a time: redirects are read, not followed.
public enum ProviderBrowser {
    public struct Answer: Sendable {
        public let status: Int
        public let location: String?
        public let body: String
        /// `name=value` of each `Set-Cookie`.
        public let cookies: [String: String]
        public let headers: [(String, String)]

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// GETs `url`, or POSTs `form` to it, with `headers`.
    public static func send(_ url: String, form: [(String, String)]? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: URLEncodedForm.body(form)))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        var cookies: [String: String] = [:]
        for value in response.headers["Set-Cookie"] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2 { cookies[String(pair[0])] = String(pair[1]) }
        }
        return Answer(
            status: Int(response.status.code), location: response.headers.first(name: "Location"), body: String(buffer: body), cookies: cookies,
            headers: response.headers.map { ($0.name, $0.value) })
    }

    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}

/// Runs `provider` on a free loopback port around `body`, which gets its issuer URL.
public func withTestOIDCProvider<Result: Sendable>(_ provider: TestOIDCProvider, _ body: (String) async throws -> Result) async throws -> Result {
    try await withUpstream(provider) { port in
        let issuer = "http://127.0.0.1:\(port)"
        provider.start(issuer: issuer)
        return try await body(issuer)
    }
}
