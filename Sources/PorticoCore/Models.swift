import Foundation

/// What a user may do: admins manage Portico, consumers call APIs and use the portal.
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin, consumer
}

/// A portal user: signed up by an admin, or first seen by the gateway in a token (`externalId`).
public struct User: Codable, Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var name: String
    public var externalId: String?
    public var role: Role
    public var disabled: Bool
    public var groups: [String]
    public var createdAt: Date
    public var lastSeenAt: Date?
    /// For users met through JWTs: the token name claim (`azp` by default) of the last token seen.
    public var tokenName: String?

    public init(
        id: UUID, email: String, name: String, externalId: String?, role: Role, disabled: Bool, groups: [String], createdAt: Date,
        lastSeenAt: Date?, tokenName: String? = nil
    ) {
        self.tokenName = tokenName
        self.id = id
        self.email = email
        self.name = name
        self.externalId = externalId
        self.role = role
        self.disabled = disabled
        self.groups = groups
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// A named set of users; access grants are given to groups.
public struct Group: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var memberCount: Int
    public var createdAt: Date

    public init(id: UUID, name: String, memberCount: Int, createdAt: Date) {
        self.id = id
        self.name = name
        self.memberCount = memberCount
        self.createdAt = createdAt
    }
}

/// An API as admins define it: where the gateway routes it and which upstream serves it.
public struct APIDefinition: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var pathPrefix: String
    public var host: String?
    public var upstream: String
    public var stripPrefix: Bool
    public var status: APIStatus
    /// Whether the consumer's API key or token goes on to the upstream; by default it stays at the gateway.
    public var forwardCredential: Bool
    /// The largest request body the API takes (413 beyond it); nil for no limit.
    public var maxBodyBytes: Int?
    /// In JWT mode, the trusted identity providers (by name) whose tokens this API accepts; nil for all of them.
    public var tokenProviders: [String]?
    /// `default` follows the auth settings' mode; `oidc` needs a session of `oidc.provider`.
    public var auth: APIAuth
    public var oidc: APIOIDCSettings?
    /// Where the API's OpenAPI document is fetched from (absolute, or a path on the upstream); nil when it is uploaded.
    public var openapiUrl: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// What the gateway puts before the paths of the API's OpenAPI document: its prefix when it strips it (the
    /// upstream's paths then lack it), else nothing.
    public var exposedPrefix: String { stripPrefix ? pathPrefix : "/" }

    public init(
        id: UUID, name: String, pathPrefix: String, host: String?, upstream: String, stripPrefix: Bool, status: APIStatus,
        forwardCredential: Bool = false, maxBodyBytes: Int? = nil, tokenProviders: [String]? = nil, auth: APIAuth = .default,
        oidc: APIOIDCSettings? = nil, openapiUrl: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.openapiUrl = openapiUrl
        self.forwardCredential = forwardCredential
        self.maxBodyBytes = maxBodyBytes
        self.auth = auth
        self.oidc = oidc
        self.id = id
        self.name = name
        self.pathPrefix = pathPrefix
        self.host = host
        self.upstream = upstream
        self.stripPrefix = stripPrefix
        self.status = status
        self.tokenProviders = tokenProviders
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An APIAccess grant: which groups may call which APIs, under which plan or rate limit.
public struct APIAccess: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var groups: [String]
    /// The API names covered, or nil when `allApis`.
    public var apis: [String]?
    public var allApis: Bool
    /// The plan's name; its rate limit applies unless the grant has one of its own, its quota always.
    public var plan: String?
    public var rateLimit: RateLimitView?
    /// The operations it covers; nil covers every operation.
    public var operationFilter: OperationFilter?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, name: String, groups: [String], apis: [String]?, allApis: Bool, plan: String? = nil, rateLimit: RateLimitView?,
        operationFilter: OperationFilter? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.plan = plan
        self.operationFilter = operationFilter
        self.id = id
        self.name = name
        self.groups = groups
        self.apis = apis
        self.allApis = allApis
        self.rateLimit = rateLimit
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A rate limit as the API shows it: the period in seconds.
public struct RateLimitView: Codable, Sendable, Equatable {
    public var limit: Int
    public var period: Int

    public init(_ limit: RateLimit) {
        self.limit = limit.limit
        self.period = limit.periodSeconds
    }
}

/// Whether a key works at the gateway, and if not, why.
public enum KeyState: String, Codable, Sendable {
    case active, revoked, expired
    case disabledByModeSwitch = "disabled_by_mode_switch"

    /// The state a key with these timestamps has at `now`; revocation outranks expiry, which outranks the mode switch.
    public static func of(revokedAt: Date?, expiresAt: Date?, disabledByModeSwitch: Bool, now: Date = Date()) -> KeyState {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return disabledByModeSwitch ? .disabledByModeSwitch : .active
    }
}

extension User {
    /// The ids the gateway counts this user's calls under (usage records, refusals): their own, and for a token
    /// user the one derived from their external id (`JWTPrincipal.consumerId`), which the gateway knows without
    /// the database.
    public var consumerIds: [UUID] {
        [id] + (externalId.map { [JWTPrincipal(userId: $0, email: nil, tokenName: nil, groups: []).consumerId] } ?? [])
    }
}

/// An API key's metadata; the secret itself is never stored nor shown again.
public struct APIKeyInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var name: String
    public var prefix: String
    public var state: KeyState
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var expiresAt: Date?
    public var revokedAt: Date?
    /// The application the key belongs to (API keys only).
    public var applicationId: UUID?
    /// The APIs the key is limited to; nil is every API its owner can reach.
    public var scopes: [UUID]?
    /// The key this one replaced in a rotation.
    public var rotatedFrom: UUID?

    public init(
        id: UUID, userId: UUID, name: String, prefix: String, state: KeyState, createdAt: Date, lastUsedAt: Date?, expiresAt: Date?, revokedAt: Date?
    ) {
        self.id = id
        self.userId = userId
        self.name = name
        self.prefix = prefix
        self.state = state
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// A token user the gateway saw, to be written to the portal's users.
public struct UserSighting: Sendable, Equatable {
    public let externalId: String
    public let email: String?
    public let tokenName: String?
    public let seenAt: Date

    public init(externalId: String, email: String?, tokenName: String?, seenAt: Date) {
        self.externalId = externalId
        self.email = email
        self.tokenName = tokenName
        self.seenAt = seenAt
    }
}

/// Which credential the gateway accepts: portal API keys, or JWTs from an identity provider.
public enum AuthMode: String, Codable, Sendable {
    case apiKey = "api_key"
    case jwt
}

/// Who made a change, as the audit log records it.
public struct Actor: Sendable, Equatable {
    public let id: UUID?
    public let label: String

    public init(id: UUID?, label: String) {
        self.id = id
        self.label = label
    }

    public static let cli = Actor(id: nil, label: "cli")
}
