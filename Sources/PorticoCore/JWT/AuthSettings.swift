/// The whole auth configuration: the mode, the JWT settings (kept while in API-key mode, so a switch back and
/// forth loses nothing) and the claims mapping.
public struct AuthSettings: Codable, Sendable, Equatable {
    public var mode: AuthMode
    public var jwt: JWTSettings?
    public var claimsMapping: ClaimsMapping

    public init(mode: AuthMode = .apiKey, jwt: JWTSettings? = nil, claimsMapping: ClaimsMapping = .standard) {
        self.mode = mode
        self.jwt = jwt
        self.claimsMapping = claimsMapping
    }

    /// Checks everything that needs no I/O; settings kept in API-key mode are checked too, so they are valid the day
    /// the mode is switched. JWT mode without JWT settings trusts only identity providers (`trustedProvidersOnly`);
    /// that at least one accepts tokens is the caller's check, which can read them.
    public func compiled() throws(PorticoError) -> CompiledAuthSettings {
        let mapping = try claimsMapping.compiled()
        var jwtConfig = try jwt.map { settings throws(PorticoError) in try settings.compiled() }
        if mode == .jwt, jwtConfig == nil { jwtConfig = .trustedProvidersOnly }
        return CompiledAuthSettings(mode: mode, jwt: jwtConfig, mapping: mapping)
    }

    /// Whether JWT mode is on with no key source of its own, so that identity providers are its only trust.
    public var trustsOnlyIdentityProviders: Bool { mode == .jwt && jwt == nil }
}

/// The auth settings checked and compiled for the gateway: the mode, the JWT configuration and the claims paths.
public struct CompiledAuthSettings: Sendable, Hashable {
    public let mode: AuthMode
    public let jwt: JWTConfig?
    public let mapping: CompiledClaimsMapping

    public init(mode: AuthMode, jwt: JWTConfig?, mapping: CompiledClaimsMapping) {
        self.mode = mode
        self.jwt = jwt
        self.mapping = mapping
    }

    public static let apiKeyDefault = CompiledAuthSettings(
        mode: .apiKey, jwt: nil,
        mapping: CompiledClaimsMapping(
            groups: ClaimPath.known("groups"), userId: ClaimPath.known("sub"), email: ClaimPath.known("email"),
            tokenName: ClaimPath.known("azp")))
}

extension ClaimPath {
    /// A path spelled in code, known to be valid.
    static func known(_ name: String) -> ClaimPath {
        (try? ClaimPath(name)) ?? ClaimPath(uncheckedSegments: [name])
    }

    private init(uncheckedSegments: [String]) {
        self.segments = uncheckedSegments
        self.description = uncheckedSegments.joined(separator: ".")
    }
}
