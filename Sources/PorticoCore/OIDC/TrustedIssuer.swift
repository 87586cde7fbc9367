/// An identity provider whose tokens JWT mode accepts (`acceptTokens`): a token whose `iss` is `issuer` is verified
/// with this provider's keys and rules and mapped with its claims mapping.
public struct TrustedIssuer: Sendable, Hashable {
    public let name: String
    public let issuer: String
    /// The provider's key set, ID-token algorithms, issuer and audiences; the rest is the JWT settings' own.
    public let config: JWTConfig
    public let mapping: CompiledClaimsMapping

    public init(provider: IdentityProviderConfig, metadata: ProviderMetadata, handling: JWTConfig) {
        name = provider.name
        issuer = provider.issuer
        mapping = provider.mapping
        // HMAC-signed tokens would be checked with the client secret; only the key set's algorithms are trusted here.
        let algorithms = metadata.signingAlgorithms.compactMap(JWTAlgorithmName.init(rawValue:)).filter { $0.family != .hmac }
        config = JWTConfig(
            keySource: .jwksURL(metadata.jwksURI), algorithms: algorithms, algorithmsGiven: true,
            rules: RegisteredClaimRules(issuers: [provider.issuer], audiences: provider.audiences, leewaySeconds: handling.rules.leewaySeconds),
            jwksCacheSeconds: handling.jwksCacheSeconds, tokenSources: handling.tokenSources, forwardHeaders: handling.forwardHeaders,
            stripAuthorizationHeader: handling.stripAuthorizationHeader, expression: handling.expression, strictness: handling.strictness,
            anonymousGroup: handling.anonymousGroup, usernameClaim: handling.usernameClaim, client: provider.client)
    }
}
