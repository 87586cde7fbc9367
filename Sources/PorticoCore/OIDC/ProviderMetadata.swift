import Foundation

/// What an identity provider's discovery document says (OpenID Connect Discovery §3), as far as Portico uses it.
/// Stored with the provider at save time and read again when it is refreshed.
public struct ProviderMetadata: Codable, Sendable, Hashable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var jwksURI: String
    public var userinfoEndpoint: String?
    public var endSessionEndpoint: String?
    /// The ID token algorithms the provider advertises; Portico verifies with no others, and never `none`.
    public var signingAlgorithms: [String]
    /// `client_secret_basic` unless the provider advertises only `client_secret_post`.
    public var tokenEndpointAuthMethod: String
    /// RFC 9207: the provider puts `iss` in the authorization response, which must then match.
    public var issuerInAuthorizationResponse: Bool
    public var codeChallengeMethods: [String]

    public init(
        issuer: String, authorizationEndpoint: String, tokenEndpoint: String, jwksURI: String, userinfoEndpoint: String?,
        endSessionEndpoint: String?, signingAlgorithms: [String], tokenEndpointAuthMethod: String, issuerInAuthorizationResponse: Bool,
        codeChallengeMethods: [String]
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.userinfoEndpoint = userinfoEndpoint
        self.endSessionEndpoint = endSessionEndpoint
        self.signingAlgorithms = signingAlgorithms
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.issuerInAuthorizationResponse = issuerInAuthorizationResponse
        self.codeChallengeMethods = codeChallengeMethods
    }

    /// Where to send a browser to end its session at the provider too (OpenID Connect RP-Initiated Logout), nil when
    /// the provider has no end-session endpoint; the ID token is a hint, left out when none was kept.
    public func endSessionURL(idTokenHint: String?, postLogoutRedirect: String, clientId: String?) -> String? {
        guard let endSessionEndpoint else { return nil }
        var parameters = [("post_logout_redirect_uri", postLogoutRedirect)]
        if let idTokenHint, !idTokenHint.isEmpty { parameters.insert(("id_token_hint", idTokenHint), at: 0) }
        if let clientId { parameters.append(("client_id", clientId)) }
        return URLEncodedForm.appending(parameters, to: endSessionEndpoint)
    }

    /// Reads a discovery document fetched for `expectedIssuer`. Its `issuer` must equal the configured one
    /// exactly (Discovery §4.3: a mismatch means the document is not that provider's); the endpoints Portico needs
    /// must be there. Every failure names the problem for a 422 on `issuer`.
    public static func parse(document: [String: JSONValue], expectedIssuer: String) throws(PorticoError) -> ProviderMetadata {
        func text(_ key: String) -> String? { document[key]?.scalarText.flatMap { $0.isEmpty ? nil : $0 } }
        func texts(_ key: String) -> [String] {
            guard case .array(let values)? = document[key] else { return [] }
            return values.compactMap(\.scalarText)
        }
        guard let issuer = text("issuer") else {
            throw PorticoError.invalid(field: "issuer", reason: "the discovery document has no issuer")
        }
        guard issuer == expectedIssuer else {
            throw PorticoError.invalid(
                field: "issuer", reason: "the discovery document names the issuer '\(issuer)', not '\(expectedIssuer)'; they must be equal")
        }
        var missing: [String] = []
        for key in ["authorization_endpoint", "token_endpoint", "jwks_uri"] where text(key) == nil { missing.append(key) }
        guard missing.isEmpty, let authorization = text("authorization_endpoint"), let token = text("token_endpoint"),
            let jwks = text("jwks_uri")
        else {
            throw PorticoError.invalid(field: "issuer", reason: "the discovery document lacks \(missing.joined(separator: ", "))")
        }
        // RS256 is the algorithm every OpenID provider must support (Core §15.1) and the default when none is listed.
        let advertised = texts("id_token_signing_alg_values_supported")
        let algorithms = (advertised.isEmpty ? ["RS256"] : advertised).filter { $0 != "none" }
        guard !algorithms.isEmpty else {
            throw PorticoError.invalid(field: "issuer", reason: "the provider signs ID tokens with no algorithm Portico accepts (only 'none')")
        }
        let authMethods = texts("token_endpoint_auth_methods_supported")
        let postOnly = authMethods.contains("client_secret_post") && !authMethods.contains("client_secret_basic")
        let issuerParameter: Bool = if case .bool(true)? = document["authorization_response_iss_parameter_supported"] { true } else { false }
        return ProviderMetadata(
            issuer: issuer, authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks,
            userinfoEndpoint: text("userinfo_endpoint"), endSessionEndpoint: text("end_session_endpoint"), signingAlgorithms: algorithms,
            tokenEndpointAuthMethod: postOnly ? "client_secret_post" : "client_secret_basic", issuerInAuthorizationResponse: issuerParameter,
            codeChallengeMethods: texts("code_challenge_methods_supported"))
    }
}

/// A stored identity provider: its settings (a literal client secret only sealed) and what discovery found.
public struct IdentityProvider: Sendable, Equatable {
    public var id: UUID
    public var settings: IdentityProviderSettings
    public var metadata: ProviderMetadata
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, settings: IdentityProviderSettings, metadata: ProviderMetadata, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.settings = settings
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
