import Crypto
import Foundation

/// One sign-in through an identity provider (OAuth 2.0 authorization code flow with PKCE, OpenID Connect Core
/// §3.1): the random values it is bound to and the URL that sends the browser to the provider.
public struct AuthorizationRequest: Sendable, Equatable {
    /// Ties the provider's answer to this flow (and, stored with a hash of the browser's cookie, to this browser).
    public let state: String
    /// Ties the ID token to this flow.
    public let nonce: String
    /// The PKCE secret (RFC 7636); only its S256 challenge leaves Portico before the code is exchanged.
    public let codeVerifier: String

    public init(state: String, nonce: String, codeVerifier: String) {
        self.state = state
        self.nonce = nonce
        self.codeVerifier = codeVerifier
    }

    /// 256 random bits each, base64url: 43 characters, within PKCE's 43–128 (RFC 7636 §4.1).
    public static func random() -> AuthorizationRequest {
        func random() -> String {
            var generator = SystemRandomNumberGenerator()
            return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        }
        return AuthorizationRequest(state: random(), nonce: random(), codeVerifier: random())
    }

    /// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
    public var codeChallenge: String { Base64URL.encode(SHA256.hash(data: Array(codeVerifier.utf8))) }

    /// The authorization endpoint with the flow's parameters; the provider's `authParams` come first and cannot
    /// replace Portico's own (the settings refuse them). A query the endpoint already has is kept.
    /// `scopes` replaces the provider's own (an OIDC-protected API may ask for others); `openid` is always asked for.
    public func url(provider: IdentityProviderConfig, metadata: ProviderMetadata, redirectURI: String, scopes: [String]? = nil) -> String {
        var scope = scopes ?? provider.scopes
        if !scope.contains("openid") { scope.insert("openid", at: 0) }
        var parameters = provider.authParams.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        parameters += [
            ("response_type", "code"), ("client_id", provider.clientId ?? ""), ("redirect_uri", redirectURI),
            ("scope", scope.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", codeChallenge), ("code_challenge_method", "S256"),
        ]
        return URLEncodedForm.appending(parameters, to: metadata.authorizationEndpoint)
    }
}

/// A sign-in a gateway started for an OIDC-protected API, to be finished by whichever replica the browser comes
/// back to.
public struct OIDCFlow: Sendable {
    public let apiId: UUID
    public let browserHash: SecretHash
    public let nonce: String
    public let codeVerifier: String
    /// The path and query the browser asked for, to go back to.
    public let returnTo: String

    public init(apiId: UUID, browserHash: SecretHash, nonce: String, codeVerifier: String, returnTo: String) {
        self.apiId = apiId
        self.browserHash = browserHash
        self.nonce = nonce
        self.codeVerifier = codeVerifier
        self.returnTo = returnTo
    }
}

/// What a provider sent the browser back with (the callback's query), read against that provider: RFC 9207's
/// `iss` (required when the provider says it sends it, and its own when given), an `error`, or the code.
public enum AuthorizationResponse: Sendable, Equatable {
    case code(String)
    /// The provider answered, but not with a code Portico may use: a 401.
    case refused(String)
    /// The answer is incomplete: a 400.
    case malformed(String)

    public init(_ parameters: [String: String], provider: IdentityProviderConfig, metadata: ProviderMetadata) {
        let name = provider.name
        let answeredIssuer = parameters["iss"]
        if metadata.issuerInAuthorizationResponse, answeredIssuer == nil {
            self = .refused("the answer of '\(name)' does not name its issuer (iss), as the provider says it does")
        } else if let answeredIssuer, answeredIssuer != provider.issuer {
            self = .refused("the answer came from issuer '\(answeredIssuer)', not from '\(provider.issuer)'")
        } else if let error = parameters["error"] {
            self = .refused("'\(name)' did not sign you in (\(error)\(parameters["error_description"].map { ": \($0)" } ?? ""))")
        } else if let code = parameters["code"], !code.isEmpty {
            self = .code(code)
        } else {
            self = .malformed("the answer of '\(name)' has no authorization code")
        }
    }
}
