import AsyncHTTPClient
import Foundation
import NIOCore
import PorticoCore

/// The relying party's side of the authorization code flow: the code exchanged at the token endpoint, the ID
/// token verified (the provider's keys and advertised algorithms, `iss`, `aud`, `exp`, then `IDTokenChecks`), and
/// UserInfo read and held to the same subject.
public struct OIDCClient: Sendable {
    let http: HTTPClient
    let verifiers: JWTVerifierFactory

    /// Clock skew allowed on `exp` and `iat`.
    public static let leewaySeconds = 60.0

    public init(verifiers: JWTVerifierFactory) {
        self.http = JWKSFetcher.sharedClient
        self.verifiers = verifiers
    }

    /// Why a sign-in through a provider failed: the provider could not be reached or answered nonsense (its fault,
    /// a 503), or what it sent was refused (a 401).
    public enum Failure: Error, Sendable, Equatable {
        case unavailable(String)
        case refused(String)
    }

    /// What the token endpoint answered.
    public struct Tokens: Sendable {
        public let idToken: String
        public let accessToken: String?
        public let refreshToken: String?
        public let expiresIn: Int?
    }

    /// A finished sign-in: the ID token's claims with UserInfo's added (the ID token's win), and the tokens.
    public struct SignedIn: Sendable {
        public let claims: [String: JSONValue]
        public let tokens: Tokens
    }

    /// The whole of a callback's work once its flow is known: the code exchanged with the flow's PKCE verifier (the
    /// client secret resolved here), the ID token checked against the flow's nonce, and UserInfo held to its subject.
    /// Failures are `Failure`s, but an unreadable client secret, which is the `PorticoError` saying so.
    public func signIn(
        code: String, codeVerifier: String, nonce: String, redirectURI: String, provider: IdentityProviderConfig, metadata: ProviderMetadata
    ) async throws -> SignedIn {
        let tokens = try await exchange(
            code: code, codeVerifier: codeVerifier, redirectURI: redirectURI, provider: provider, metadata: metadata,
            clientSecret: try clientSecret(of: provider))
        var claims = try await verifyIDToken(tokens.idToken, nonce: nonce, provider: provider, metadata: metadata, now: Date().timeIntervalSince1970)
        if let accessToken = tokens.accessToken, let subject = claims["sub"]?.string {
            let userInfo = try await userInfo(accessToken: accessToken, subject: subject, provider: provider, metadata: metadata)
            claims.merge(userInfo) { fromToken, _ in fromToken }
        }
        return SignedIn(claims: claims, tokens: tokens)
    }

    /// The provider's client secret, read from where its settings say.
    public func clientSecret(of provider: IdentityProviderConfig) throws(PorticoError) -> String? {
        try provider.clientSecret.map { reference throws(PorticoError) in try verifiers.resolver.resolve(reference) }
    }

    /// Exchanges `code` with the PKCE verifier; the client authenticates as the provider advertised.
    public func exchange(
        code: String, codeVerifier: String, redirectURI: String, provider: IdentityProviderConfig, metadata: ProviderMetadata, clientSecret: String?
    ) async throws(Failure) -> Tokens {
        let document = try await tokenRequest(
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", codeVerifier)],
            provider: provider, metadata: metadata, clientSecret: clientSecret, what: "the code")
        guard let idToken = document["id_token"]?.string else { throw .refused("the token endpoint sent no ID token") }
        var expiresIn: Int?
        if case .number(let seconds)? = document["expires_in"] { expiresIn = Int(seconds) }
        return Tokens(
            idToken: idToken, accessToken: document["access_token"]?.string, refreshToken: document["refresh_token"]?.string, expiresIn: expiresIn)
    }

    /// Tokens for a refresh token (RFC 6749 §6); the provider may rotate the refresh token. A refused refresh (the
    /// user signed out or was removed at the provider) is `.refused`.
    public func refresh(
        _ refreshToken: String, provider: IdentityProviderConfig, metadata: ProviderMetadata, clientSecret: String?
    ) async throws(Failure) -> (accessToken: String?, refreshToken: String?, expiresIn: Int?) {
        let document = try await tokenRequest(
            [("grant_type", "refresh_token"), ("refresh_token", refreshToken)], provider: provider, metadata: metadata, clientSecret: clientSecret,
            what: "the refresh token")
        var expiresIn: Int?
        if case .number(let seconds)? = document["expires_in"] { expiresIn = Int(seconds) }
        return (document["access_token"]?.string, document["refresh_token"]?.string, expiresIn)
    }

    /// A token-endpoint request with the client's authentication; the answer's JSON, or why it failed.
    private func tokenRequest(
        _ grant: [(String, String)], provider: IdentityProviderConfig, metadata: ProviderMetadata, clientSecret: String?, what: String
    ) async throws(Failure) -> [String: JSONValue] {
        guard let clientId = provider.clientId else { throw .refused("identity provider '\(provider.name)' has no client id") }
        var form = grant
        var request = HTTPClientRequest(url: metadata.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        switch (clientSecret, metadata.tokenEndpointAuthMethod) {
        case (let secret?, "client_secret_post"):
            form += [("client_id", clientId), ("client_secret", secret)]
        case (let secret?, _):
            // RFC 6749 §2.3.1: both parts form-encoded before they are joined.
            let credentials = URLEncodedForm.encode(clientId) + ":" + URLEncodedForm.encode(secret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        case (nil, _):
            form.append(("client_id", clientId))
        }
        request.body = .bytes(ByteBuffer(string: URLEncodedForm.body(form)))
        let answer = try await send(request, to: provider)
        let document = try Self.object(answer.body, from: "the token endpoint")
        guard answer.status == .ok else {
            let reason = document["error_description"]?.string ?? document["error"]?.string ?? "HTTP \(answer.status.code)"
            if answer.status.code >= 500 { throw .unavailable("the token endpoint answered \(reason)") }
            throw .refused("the token endpoint refused \(what): \(reason)")
        }
        return document
    }

    /// The ID token's claims once its signature, issuer, audience, times, subject and nonce pass.
    public func verifyIDToken(
        _ token: String, nonce: String, provider: IdentityProviderConfig, metadata: ProviderMetadata, now: Double
    ) async throws(Failure) -> [String: JSONValue] {
        guard let clientId = provider.clientId else { throw .refused("identity provider '\(provider.name)' has no client id") }
        let trusted = TrustedIssuer(provider: provider, metadata: metadata, handling: .trustedProvidersOnly)
        guard !trusted.config.algorithms.isEmpty else {
            throw .refused(
                "the provider signs ID tokens only with \(metadata.signingAlgorithms.joined(separator: ", ")), which Portico does not accept")
        }
        let config = trusted.config.withRules(
            RegisteredClaimRules(issuers: [provider.issuer], audiences: [clientId], leewaySeconds: Self.leewaySeconds))
        let verifier: JWTVerifier
        do {
            verifier = try await verifiers.make(config)
        } catch {
            throw .unavailable("its keys cannot be used: \(error.message)")
        }
        let claims: [String: JSONValue]
        switch await verifier.verify(token, now: now) {
        case .verified(let verified): claims = verified
        case .rejected(let rejection): throw .refused("the ID token was refused: \(rejection.reason)")
        case .unavailable(let reason): throw .unavailable("its keys cannot be fetched: \(reason)")
        }
        let checks = IDTokenChecks(clientId: clientId, nonce: nonce, leewaySeconds: Self.leewaySeconds)
        if let failure = checks.failure(in: claims, now: now) { throw .refused(failure) }
        return claims
    }

    /// The UserInfo claims for `accessToken`; their `sub` must be the ID token's (OpenID Connect Core §5.3.2).
    public func userInfo(
        accessToken: String, subject: String, provider: IdentityProviderConfig, metadata: ProviderMetadata
    ) async throws(Failure) -> [String: JSONValue] {
        guard let endpoint = metadata.userinfoEndpoint else { return [:] }
        var request = HTTPClientRequest(url: endpoint)
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        request.headers.add(name: "Accept", value: "application/json")
        let answer = try await send(request, to: provider)
        guard answer.status == .ok else {
            if answer.status.code >= 500 { throw .unavailable("UserInfo answered HTTP \(answer.status.code)") }
            throw .refused("UserInfo refused the access token (HTTP \(answer.status.code))")
        }
        let claims = try Self.object(answer.body, from: "UserInfo")
        guard claims["sub"]?.string == subject else { throw .refused("UserInfo names another subject than the ID token") }
        return claims
    }

    private func send(_ request: HTTPClientRequest, to provider: IdentityProviderConfig) async throws(Failure) -> JWKSFetcher.Answer {
        do {
            return try await JWKSFetcher(client: provider.client, http: http).send(request)
        } catch {
            throw .unavailable("\(request.url) cannot be reached: \(error.description)")
        }
    }

    private static func object(_ body: Data, from what: String) throws(Failure) -> [String: JSONValue] {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw .unavailable("\(what) did not answer with a JSON object")
        }
        return object
    }
}
