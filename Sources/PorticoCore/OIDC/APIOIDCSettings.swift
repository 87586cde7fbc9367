import Foundation

/// How an API authenticates its callers: as the auth settings' mode says, or with an OIDC session of its own.
public enum APIAuth: String, Codable, Sendable, Hashable, CaseIterable {
    case `default`
    case oidc
}

/// An API protected by an OIDC session (`PATCH /apis/{id} {auth: "oidc", oidc: {…}}`, Traefik Hub's names): browsers
/// are sent to the identity provider, come back to `redirectPath` under the API's prefix and carry a session cookie.
public struct APIOIDCSettings: Codable, Sendable, Equatable {
    public var provider: String
    /// Under the API's prefix, e.g. `/callback`: register `<gateway URL><prefix><redirectPath>` at the provider.
    public var redirectPath: String
    public var logoutPath: String?
    /// Where the browser goes after signing out (after the provider's own sign-out when it has one).
    public var postLogoutRedirect: String?
    public var scopes: [String]?
    /// Header → claim path, set upstream from the session's claims (a client's own copies are removed first).
    public var forwardHeaders: [String: String]?
    /// A claims expression the session's claims must satisfy, as in JWT mode.
    public var claims: String?
    public var session: Session?

    public struct Session: Codable, Sendable, Equatable {
        public var expirySeconds: Int?
        /// Whether each request pushes the expiry on by `expirySeconds` (an idle timeout) rather than not.
        public var sliding: Bool?
        public var refresh: Bool?

        public init(expirySeconds: Int? = nil, sliding: Bool? = nil, refresh: Bool? = nil) {
            self.expirySeconds = expirySeconds
            self.sliding = sliding
            self.refresh = refresh
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case expirySeconds, sliding, refresh }

        public init(from decoder: any Decoder) throws {
            try StrictDecoding.rejectUnknownFields(
                in: decoder, known: CodingKeys.allCases.map(\.rawValue), prefix: "oidc.session.", reason: "is not a session setting")
            let container = try decoder.container(keyedBy: CodingKeys.self)
            expirySeconds = try container.decodeIfPresent(Int.self, forKey: .expirySeconds)
            sliding = try container.decodeIfPresent(Bool.self, forKey: .sliding)
            refresh = try container.decodeIfPresent(Bool.self, forKey: .refresh)
        }
    }

    public init(provider: String, redirectPath: String) {
        self.provider = provider
        self.redirectPath = redirectPath
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case provider, redirectPath, logoutPath, postLogoutRedirect, scopes, forwardHeaders, claims, session
    }

    public init(from decoder: any Decoder) throws {
        try StrictDecoding.rejectUnknownFields(
            in: decoder, known: CodingKeys.allCases.map(\.rawValue), prefix: "oidc.", reason: "is not an OIDC setting of an API")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        provider = try container.decode(String.self, forKey: .provider)
        redirectPath = try container.decode(String.self, forKey: .redirectPath)
        logoutPath = try container.decodeIfPresent(String.self, forKey: .logoutPath)
        postLogoutRedirect = try container.decodeIfPresent(String.self, forKey: .postLogoutRedirect)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes)
        forwardHeaders = try container.decodeIfPresent([String: String].self, forKey: .forwardHeaders)
        claims = try container.decodeIfPresent(String.self, forKey: .claims)
        session = try container.decodeIfPresent(Session.self, forKey: .session)
    }

    /// Everything checked that needs no I/O, the paths joined to the API's prefix.
    public func compiled(pathPrefix: String) throws(PorticoError) -> APIOIDCConfig {
        let provider = try Validation.identifier(provider, field: "oidc.provider")
        let callback = try Self.path(redirectPath, under: pathPrefix, field: "oidc.redirectPath")
        let logout = try logoutPath.map { path throws(PorticoError) in try Self.path(path, under: pathPrefix, field: "oidc.logoutPath") }
        if logout == callback { throw PorticoError.invalid(field: "oidc.logoutPath", reason: "must differ from redirectPath") }
        if let target = postLogoutRedirect {
            let isPath = target.hasPrefix("/") && !target.hasPrefix("//")
            let isURL = URL(string: target).flatMap { $0.scheme }.map { ["http", "https"].contains($0.lowercased()) } ?? false
            guard isPath || isURL else {
                throw PorticoError.invalid(field: "oidc.postLogoutRedirect", reason: "must be a path or an http(s) URL")
            }
        }
        let expression: ClaimsExpression?
        if let text = claims, !text.trimmingCharacters(in: .whitespaces).isEmpty {
            do { expression = try ClaimsExpression(text) } catch { throw PorticoError.invalid(field: "oidc.claims", reason: error.description) }
        } else {
            expression = nil
        }
        let expiry = session?.expirySeconds ?? 86_400
        guard (60...2_592_000).contains(expiry) else {
            throw PorticoError.invalid(field: "oidc.session.expirySeconds", reason: "must be between 60 and 2592000 (30 days)")
        }
        return APIOIDCConfig(
            providerName: provider, callbackPath: callback, logoutPath: logout, postLogoutRedirect: postLogoutRedirect, scopes: scopes,
            forwardHeaders: try JWTConfig.ForwardHeader.compiled(forwardHeaders ?? [:], field: "oidc.forwardHeaders"), expression: expression,
            expirySeconds: expiry, sliding: session?.sliding ?? false, refresh: session?.refresh ?? false)
    }

    private static func path(_ path: String, under prefix: String, field: String) throws(PorticoError) -> String {
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), !path.split(separator: "/").contains("..") else {
            throw PorticoError.invalid(field: field, reason: "must be a path under the API's prefix, such as /callback")
        }
        let base = prefix == "/" ? "" : (prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix)
        return base + path
    }
}

/// An API's OIDC settings checked, its paths as the gateway matches them.
public struct APIOIDCConfig: Sendable, Hashable {
    public let providerName: String
    public let callbackPath: String
    public let logoutPath: String?
    public let postLogoutRedirect: String?
    /// nil: the provider's scopes.
    public let scopes: [String]?
    public let forwardHeaders: [JWTConfig.ForwardHeader]
    public let expression: ClaimsExpression?
    public let expirySeconds: Int
    public let sliding: Bool
    /// Whether the access token is refreshed before it runs out; a refused refresh ends the session.
    public let refresh: Bool
}

/// What the gateway needs to run an API's OIDC sessions: the API's settings and its provider as discovered. A
/// class, so that the `GatewayAPI` every request copies carries one reference rather than all of it.
public final class OIDCRoute: Sendable, Hashable {
    public let config: APIOIDCConfig
    public let provider: IdentityProviderConfig
    public let metadata: ProviderMetadata

    public init(config: APIOIDCConfig, provider: IdentityProviderConfig, metadata: ProviderMetadata) {
        self.config = config
        self.provider = provider
        self.metadata = metadata
    }

    public static func == (lhs: OIDCRoute, rhs: OIDCRoute) -> Bool {
        lhs === rhs || (lhs.config == rhs.config && lhs.provider == rhs.provider && lhs.metadata == rhs.metadata)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(config)
        hasher.combine(provider)
        hasher.combine(metadata)
    }
}
