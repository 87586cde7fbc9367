import Foundation

/// An OpenID Connect identity provider as admins configure it (`/api/v1/identity-providers`). Unknown fields are
/// refused, so a typo is an error rather than an option silently ignored. `compiled()` checks everything that can
/// be checked without I/O; discovery at save time checks the rest.
public struct IdentityProviderSettings: Codable, Sendable, Equatable {
    public var name: String
    public var issuer: String
    public var clientId: String?
    /// A reference (`env:NAME`, `file:/path`), or a literal that is stored sealed; shown only as `"set"`.
    public var clientSecret: String?
    public var scopes: [String]?
    public var claimsMapping: ClaimsMapping?
    /// What a token's `aud` must contain when the provider's tokens are accepted; default: the client id.
    public var audiences: [String]?
    /// Whether JWT mode trusts this provider's tokens.
    public var acceptTokens: Bool?
    public var signIn: SignIn?
    /// Members of these groups (from the groups claim) are admins when they sign in through this provider.
    public var adminGroups: [String]?
    /// Extra parameters for the authorization request (`prompt`, `kc_idp_hint`, …).
    public var authParams: [String: String]?
    public var clientConfig: JWTSettings.ClientConfig?

    /// Where users may sign in through this provider.
    public struct SignIn: Codable, Sendable, Equatable {
        public var dashboard: Bool?
        public var portal: Bool?

        public init(dashboard: Bool? = nil, portal: Bool? = nil) {
            self.dashboard = dashboard
            self.portal = portal
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case dashboard, portal }

        public init(from decoder: any Decoder) throws {
            try StrictDecoding.rejectUnknownFields(
                in: decoder, known: CodingKeys.allCases.map(\.rawValue), prefix: "signIn.", reason: "is not a sign-in place (dashboard, portal)")
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dashboard = try container.decodeIfPresent(Bool.self, forKey: .dashboard)
            portal = try container.decodeIfPresent(Bool.self, forKey: .portal)
        }
    }

    public init(name: String, issuer: String) {
        self.name = name
        self.issuer = issuer
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, issuer, clientId, clientSecret, scopes, claimsMapping, audiences, acceptTokens, signIn, adminGroups, authParams
        case clientConfig
    }

    public init(from decoder: any Decoder) throws {
        try StrictDecoding.rejectUnknownFields(
            in: decoder, known: CodingKeys.allCases.map(\.rawValue), reason: "is not an identity provider setting")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        issuer = try container.decodeIfPresent(String.self, forKey: .issuer) ?? ""
        clientId = try container.decodeIfPresent(String.self, forKey: .clientId)
        clientSecret = try container.decodeIfPresent(String.self, forKey: .clientSecret)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes)
        claimsMapping = try container.decodeIfPresent(ClaimsMapping.self, forKey: .claimsMapping)
        audiences = try container.decodeIfPresent([String].self, forKey: .audiences)
        acceptTokens = try container.decodeIfPresent(Bool.self, forKey: .acceptTokens)
        signIn = try container.decodeIfPresent(SignIn.self, forKey: .signIn)
        adminGroups = try container.decodeIfPresent([String].self, forKey: .adminGroups)
        authParams = try container.decodeIfPresent([String: String].self, forKey: .authParams)
        clientConfig = try container.decodeIfPresent(JWTSettings.ClientConfig.self, forKey: .clientConfig)
    }

    /// The settings as a read shows them: the client secret only as `"set"`.
    public var shown: IdentityProviderSettings {
        var shown = self
        if clientSecret != nil { shown.clientSecret = "set" }
        return shown
    }

    /// Authorization-request parameters Portico sets itself; `authParams` may not replace them.
    public static let reservedAuthParams: Set<String> = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method",
    ]

    /// Checks everything that needs no I/O and fills in the defaults.
    public func compiled() throws(PorticoError) -> IdentityProviderConfig {
        let name = try Validation.identifier(name)
        let issuer = try Self.issuerURL(issuer)
        let clientId = clientId.flatMap { $0.isEmpty ? nil : $0 }
        let signInDashboard = signIn?.dashboard ?? false
        let signInPortal = signIn?.portal ?? false
        if signInDashboard || signInPortal, clientId == nil {
            throw PorticoError.invalid(field: "clientId", reason: "signing in through the provider needs its client id")
        }
        let clientSecret = try self.clientSecret.flatMap { secret throws(PorticoError) in
            secret.isEmpty ? nil : try SecretReference.checked(secret, field: "clientSecret")
        }
        var scopes = try (self.scopes ?? ["openid", "profile", "email"]).map { scope throws(PorticoError) in
            guard !scope.isEmpty, scope.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }) else {
                throw PorticoError.invalid(field: "scopes", reason: "'\(scope)' is not a scope token (RFC 6749 §3.3)")
            }
            return scope
        }
        // The openid scope is what makes an OAuth request an OpenID Connect one (OpenID Connect Core §3.1.2.1).
        if !scopes.contains("openid") { scopes.insert("openid", at: 0) }
        let audiences = audiences ?? clientId.map { [$0] } ?? []
        if audiences.contains(where: \.isEmpty) { throw PorticoError.invalid(field: "audiences", reason: "must not contain an empty value") }
        if acceptTokens == true, audiences.isEmpty {
            throw PorticoError.invalid(field: "audiences", reason: "accepting tokens needs the audiences they are for, or a client id")
        }
        let adminGroups = try (adminGroups ?? []).map { group throws(PorticoError) in try Validation.identifier(group, field: "adminGroups") }
        for (parameter, _) in authParams ?? [:] where Self.reservedAuthParams.contains(parameter) || parameter.isEmpty {
            throw PorticoError.invalid(field: "authParams.\(parameter)", reason: "is set by Portico itself")
        }
        return IdentityProviderConfig(
            name: name, issuer: issuer, clientId: clientId, clientSecret: clientSecret, scopes: scopes,
            mapping: try (claimsMapping ?? .standard).compiled(), audiences: audiences, acceptTokens: acceptTokens ?? false,
            signInDashboard: signInDashboard, signInPortal: signInPortal, adminGroups: adminGroups, authParams: authParams ?? [:],
            client: try (clientConfig ?? .init()).compiled(field: "clientConfig"))
    }

    /// An issuer identifier (OpenID Connect Discovery §2): an https URL without query or fragment. Plain http is
    /// allowed for a provider on this machine only (development and tests), never across a network.
    static func issuerURL(_ text: String) throws(PorticoError) -> String {
        let issuer = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: issuer), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { throw PorticoError.invalid(field: "issuer", reason: "'\(text)' is not an absolute https URL") }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            throw PorticoError.invalid(field: "issuer", reason: "must not contain a query, a fragment or credentials")
        }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw PorticoError.invalid(field: "issuer", reason: "must be an https URL (http only for a provider on this machine)")
        }
        return issuer
    }
}

/// An identity provider's settings checked, with the defaults filled in.
public struct IdentityProviderConfig: Sendable, Hashable {
    public let name: String
    public let issuer: String
    public let clientId: String?
    public let clientSecret: SecretReference?
    public let scopes: [String]
    public let mapping: CompiledClaimsMapping
    public let audiences: [String]
    public let acceptTokens: Bool
    public let signInDashboard: Bool
    public let signInPortal: Bool
    public let adminGroups: [String]
    public let authParams: [String: String]
    public let client: JWTConfig.Client

    /// Where the discovery document lives (OpenID Connect Discovery §4): the issuer, without a trailing slash,
    /// followed by `/.well-known/openid-configuration`.
    public var discoveryURL: String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }
}
