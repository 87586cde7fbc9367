import Foundation

/// An API key as the gateway knows it: never the secret, only what its hash maps to.
public struct KeyGrant: Sendable, Hashable {
    public let keyId: UUID
    public let userId: UUID
    /// Milliseconds since 1970, or nil for a key that never expires. Whole seconds would let a key live on
    /// for up to a second past its expiry.
    public let expiresAtMillis: Int64?

    public init(keyId: UUID, userId: UUID, expiresAtMillis: Int64?) {
        self.keyId = keyId
        self.userId = userId
        self.expiresAtMillis = expiresAtMillis
    }
}

/// A key owner as the gateway knows them: enabled or not, and their groups.
public struct ConsumerPolicy: Sendable, Hashable {
    public let userId: UUID
    public let disabled: Bool
    /// Names of the groups the user belongs to.
    public let groups: [String]

    public init(userId: UUID, disabled: Bool, groups: [String]) {
        self.userId = userId
        self.disabled = disabled
        self.groups = groups
    }
}

/// An APIAccess grant as the compiler takes it.
public struct AccessGrant: Sendable, Hashable {
    public let name: String
    public let groups: [String]
    /// nil means every API.
    public let apiIds: [UUID]?
    public let rateLimit: RateLimit?

    public init(name: String, groups: [String], apiIds: [UUID]?, rateLimit: RateLimit?) {
        self.name = name
        self.groups = groups
        self.apiIds = apiIds
        self.rateLimit = rateLimit
    }
}

/// Everything the gateway needs to decide a request, compiled from the database and swapped whole.
/// Immutable, so a request that started on one snapshot finishes on it.
public final class PolicySnapshot: Sendable {
    public let version: Int64
    public let routes: RouteTable
    public let apiCount: Int
    private let keysByHash: [SecretHash: KeyGrant]
    private let consumers: [UUID: ConsumerPolicy]
    /// API id → group name → the most generous limit any grant gives that group on that API.
    private let limitsByAPI: [UUID: [String: EffectiveLimit]]
    public let auth: CompiledAuthSettings
    /// Changes whenever the auth settings are saved; the gateway rebuilds its token verifier when it does.
    public let authVersion: Int
    /// External (token) user ids an admin has disabled.
    private let disabledExternalIds: Set<String>
    /// Identity providers whose tokens JWT mode accepts, by issuer.
    public let trustedIssuers: [String: TrustedIssuer]

    public init(
        version: Int64, apis: [GatewayAPI], keys: [SecretHash: KeyGrant], consumers: [ConsumerPolicy], grants: [AccessGrant],
        auth: CompiledAuthSettings = .apiKeyDefault, authVersion: Int = 0, disabledExternalIds: Set<String> = [],
        trustedIssuers: [TrustedIssuer] = []
    ) {
        self.version = version
        self.auth = auth
        self.authVersion = authVersion
        self.disabledExternalIds = disabledExternalIds
        self.trustedIssuers = Dictionary(trustedIssuers.map { ($0.issuer, $0) }, uniquingKeysWith: { first, _ in first })
        self.routes = RouteTable(apis: apis)
        self.apiCount = apis.count
        self.keysByHash = keys
        self.consumers = Dictionary(consumers.map { ($0.userId, $0) }, uniquingKeysWith: { first, _ in first })
        var limits: [UUID: [String: EffectiveLimit]] = [:]
        let allAPIIds = apis.map(\.id)
        for grant in grants {
            let limit: EffectiveLimit = grant.rateLimit.map { .limited($0) } ?? .unlimited
            for apiId in grant.apiIds ?? allAPIIds {
                for group in grant.groups {
                    if let current = limits[apiId]?[group], !limit.isMoreGenerous(than: current) { continue }
                    limits[apiId, default: [:]][group] = limit
                }
            }
        }
        self.limitsByAPI = limits
    }

    public static let empty = PolicySnapshot(version: 0, apis: [], keys: [:], consumers: [], grants: [])

    public var keyCount: Int { keysByHash.count }
    public var consumerCount: Int { consumers.count }

    /// Resolves a presented API key to its consumer. `nowMillis` is milliseconds since 1970.
    public func authenticate(apiKey: some StringProtocol, nowMillis: Int64) -> KeyAuthentication {
        guard SecretFormat.apiKey.matches(apiKey) else { return .rejected("the API key is malformed") }
        let hash = SecretHash(of: apiKey)
        guard let grant = keysByHash[hash] else { return .rejected("the API key is unknown or revoked") }
        if let expiresAt = grant.expiresAtMillis, expiresAt <= nowMillis { return .rejected("the API key has expired") }
        guard let consumer = consumers[grant.userId], !consumer.disabled else {
            return .rejected("the API key's user is disabled")
        }
        return .accepted(consumer, keyId: grant.keyId)
    }

    public func isDisabled(externalUserId: String) -> Bool { disabledExternalIds.contains(externalUserId) }

    /// The most generous limit the given groups hold on the API, or nil when none of them holds a grant.
    public func access(groups: some Sequence<String>, api: UUID) -> EffectiveLimit? {
        guard let byGroup = limitsByAPI[api] else { return nil }
        return EffectiveLimit.mostGenerous(groups.lazy.compactMap { byGroup[$0] })
    }
}

/// The outcome of presenting an API key: its owner and key id, or why it was refused.
public enum KeyAuthentication: Sendable, Equatable {
    case accepted(ConsumerPolicy, keyId: UUID)
    case rejected(String)
}
