import Foundation

/// An API key as the gateway knows it: never the secret, only what its hash maps to.
public struct KeyGrant: Sendable, Hashable {
    public let keyId: UUID
    public let userId: UUID
    /// Milliseconds since 1970, or nil for a key that never expires. Whole seconds would let a key live on
    /// for up to a second past its expiry.
    public let expiresAtMillis: Int64?
    /// The application the key belongs to, which the usage records count calls under.
    public let applicationId: UUID?
    /// The APIs the key is limited to; nil is every API its owner can reach.
    public let scopes: [UUID]?

    public init(keyId: UUID, userId: UUID, expiresAtMillis: Int64?, applicationId: UUID? = nil, scopes: [UUID]? = nil) {
        self.keyId = keyId
        self.userId = userId
        self.expiresAtMillis = expiresAtMillis
        self.applicationId = applicationId
        self.scopes = scopes
    }
}

/// A user as the gateway knows them: enabled or not, their token user id, and their groups.
public struct ConsumerPolicy: Sendable, Hashable {
    public let userId: UUID
    public let disabled: Bool
    /// Names of the groups the user belongs to, sorted.
    public let groups: [String]
    /// The JWT user-id claim's value for a token user; a disabled one's tokens are refused.
    public let externalId: String?

    public init(userId: UUID, disabled: Bool, groups: [String], externalId: String? = nil) {
        self.userId = userId
        self.disabled = disabled
        self.groups = groups.sorted()
        self.externalId = externalId
    }
}

/// An APIAccess grant as the compiler takes it.
public struct AccessGrant: Sendable, Hashable {
    public let name: String
    public let groups: [String]
    /// nil means every API.
    public let apiIds: [UUID]?
    public let rateLimit: RateLimit?
    public let plan: CompiledPlan?
    /// nil covers every operation.
    public let operationFilter: OperationFilter?

    public init(
        name: String, groups: [String], apiIds: [UUID]?, rateLimit: RateLimit?, plan: CompiledPlan? = nil, operationFilter: OperationFilter? = nil
    ) {
        self.name = name
        self.groups = groups
        self.apiIds = apiIds
        self.rateLimit = rateLimit
        self.plan = plan
        self.operationFilter = operationFilter
    }

    public var limits: AccessLimits { AccessLimits(grantRate: rateLimit, plan: plan) }
}

/// The small part of the policy, compiled whole whenever any of it changes: APIs, grants, auth settings and
/// trusted identity providers. Keys and users, the large part, change entry by entry.
public struct PolicyStructure: Sendable, Hashable {
    public var apis: [GatewayAPI]
    public var grants: [AccessGrant]
    public var auth: CompiledAuthSettings
    /// Changes whenever the auth settings are saved; the gateway rebuilds its token verifier when it does.
    public var authVersion: Int
    public var trustedIssuers: [TrustedIssuer]
    /// The operations of the APIs' OpenAPI documents, for grants whose operation filters name tags or operation ids
    /// and for refusals that name the operation. Only APIs with a document are here.
    public var documentedOperations: [UUID: [DocumentOperation]]

    public init(
        apis: [GatewayAPI], grants: [AccessGrant], auth: CompiledAuthSettings = .apiKeyDefault, authVersion: Int = 0,
        trustedIssuers: [TrustedIssuer] = [], documentedOperations: [UUID: [DocumentOperation]] = [:]
    ) {
        self.apis = apis
        self.grants = grants
        self.auth = auth
        self.authVersion = authVersion
        self.trustedIssuers = trustedIssuers
        self.documentedOperations = documentedOperations
    }
}

/// What changed between a snapshot's version and `version`, read at `version`: each changed key and user as it
/// is now (nil: gone, revoked or no longer admitted), and the structure when any of it changed.
public struct PolicyDelta: Sendable {
    public let version: Int64
    public var keys: [SecretHash: KeyGrant?]
    public var consumers: [UUID: ConsumerPolicy?]
    public var structure: PolicyStructure?

    public init(
        version: Int64, keys: [SecretHash: KeyGrant?] = [:], consumers: [UUID: ConsumerPolicy?] = [:], structure: PolicyStructure? = nil
    ) {
        self.version = version
        self.keys = keys
        self.consumers = consumers
        self.structure = structure
    }
}

/// Everything the gateway needs to decide a request, compiled from the database and swapped whole.
/// Immutable, so a request that started on one snapshot finishes on it. Keys and users live in sharded maps,
/// so the snapshot after a change shares all that the change did not touch with the one before it.
public final class PolicySnapshot: Sendable {
    public let version: Int64
    public let structure: PolicyStructure
    public let routes: RouteTable
    public let auth: CompiledAuthSettings
    /// Identity providers whose tokens JWT mode accepts, by issuer.
    public let trustedIssuers: [String: TrustedIssuer]
    /// The structure compiled for lookups; a delta that leaves the structure alone keeps it as it is.
    private let compiled: CompiledStructure
    private let keys: ShardedMap<SecretHash, KeyGrant>
    private let consumers: ShardedMap<UUID, ConsumerPolicy>
    /// Token user ids an admin has disabled, with their users.
    private let disabledExternalIds: ShardedMap<String, UUID>

    public static let keyShards = 4096
    public static let consumerShards = 1024
    public static let disabledShards = 64

    /// A snapshot of maps built by a full load.
    public convenience init(
        version: Int64, structure: PolicyStructure, keys: ShardedMap<SecretHash, KeyGrant>, consumers: ShardedMap<UUID, ConsumerPolicy>,
        disabledExternalIds: ShardedMap<String, UUID>
    ) {
        self.init(
            version: version, structure: structure, compiled: CompiledStructure(structure), keys: keys, consumers: consumers,
            disabledExternalIds: disabledExternalIds)
    }

    private init(
        version: Int64, structure: PolicyStructure, compiled: CompiledStructure, keys: ShardedMap<SecretHash, KeyGrant>,
        consumers: ShardedMap<UUID, ConsumerPolicy>, disabledExternalIds: ShardedMap<String, UUID>
    ) {
        self.version = version
        self.structure = structure
        self.compiled = compiled
        self.routes = compiled.routes
        self.auth = structure.auth
        self.trustedIssuers = compiled.trustedIssuers
        self.keys = keys
        self.consumers = consumers
        self.disabledExternalIds = disabledExternalIds
    }

    /// A snapshot of the given lists, for tests and for pages that compile a policy of their own.
    public convenience init(
        version: Int64, apis: [GatewayAPI], keys: [SecretHash: KeyGrant], consumers: [ConsumerPolicy], grants: [AccessGrant],
        auth: CompiledAuthSettings = .apiKeyDefault, authVersion: Int = 0, disabledExternalIds: Set<String> = [],
        trustedIssuers: [TrustedIssuer] = []
    ) {
        var keyMap = ShardedMap<SecretHash, KeyGrant>(shardCount: Self.keyShards)
        for (hash, grant) in keys { keyMap[hash] = grant }
        var consumerMap = ShardedMap<UUID, ConsumerPolicy>(shardCount: Self.consumerShards)
        var disabled = ShardedMap<String, UUID>(shardCount: Self.disabledShards)
        for consumer in consumers {
            consumerMap[consumer.userId] = consumer
            if consumer.disabled, let externalId = consumer.externalId { disabled[externalId] = consumer.userId }
        }
        // Disabled token ids given without their users belong to no user of this snapshot.
        let nobody = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        for externalId in disabledExternalIds where disabled[externalId] == nil { disabled[externalId] = nobody }
        self.init(
            version: version,
            structure: PolicyStructure(apis: apis, grants: grants, auth: auth, authVersion: authVersion, trustedIssuers: trustedIssuers),
            keys: keyMap, consumers: consumerMap, disabledExternalIds: disabled)
    }

    public static let empty = PolicySnapshot(version: 0, apis: [], keys: [:], consumers: [], grants: [])

    /// This snapshot with `delta` applied: work in proportion to the delta (and to the structure when that
    /// changed), never to the number of keys or users. The maps share every shard the delta did not touch.
    public func applying(_ delta: PolicyDelta) -> PolicySnapshot {
        var keys = self.keys
        for (hash, grant) in delta.keys { keys[hash] = grant }
        var consumers = self.consumers
        var disabled = disabledExternalIds
        for (userId, consumer) in delta.consumers {
            if let previous = consumers[userId], previous.disabled, let externalId = previous.externalId,
                disabled[externalId] == userId
            {
                disabled[externalId] = nil
            }
            consumers[userId] = consumer
            if let consumer, consumer.disabled, let externalId = consumer.externalId { disabled[externalId] = userId }
        }
        return PolicySnapshot(
            version: delta.version, structure: delta.structure ?? structure, compiled: delta.structure.map(CompiledStructure.init) ?? compiled,
            keys: keys, consumers: consumers, disabledExternalIds: disabled)
    }

    /// Whether both snapshots decide every request alike: same structure, keys, users and disabled token users.
    public func hasSameContents(as other: PolicySnapshot) -> Bool {
        structure == other.structure && keys == other.keys && consumers == other.consumers
            && disabledExternalIds == other.disabledExternalIds
    }

    public var apiCount: Int { structure.apis.count }
    public var authVersion: Int { structure.authVersion }
    public var keyCount: Int { keys.count }
    public var consumerCount: Int { consumers.count }

    /// Whose key this is, whatever its state, for attributing a refusal; nil for a key the snapshot does not hold.
    public func owner(ofAPIKey apiKey: some StringProtocol) -> UUID? {
        guard SecretFormat.apiKey.matches(apiKey) else { return nil }
        return keys[SecretHash(of: apiKey)]?.userId
    }

    /// Resolves a presented API key to its consumer. `nowMillis` is milliseconds since 1970.
    public func authenticate(apiKey: some StringProtocol, nowMillis: Int64) -> KeyAuthentication {
        guard SecretFormat.apiKey.matches(apiKey) else { return .rejected("the API key is malformed") }
        let hash = SecretHash(of: apiKey)
        guard let grant = keys[hash] else { return .rejected("the API key is unknown or revoked") }
        if let expiresAt = grant.expiresAtMillis, expiresAt <= nowMillis { return .rejected("the API key has expired") }
        guard let consumer = consumers[grant.userId], !consumer.disabled else {
            return .rejected("the API key's user is disabled")
        }
        return .accepted(consumer, grant)
    }

    public func isDisabled(externalUserId: String) -> Bool { disabledExternalIds[externalUserId] != nil }

    /// Whether an admin has disabled the user (the snapshot holds every disabled user).
    public func isDisabled(userId: UUID) -> Bool { consumers[userId]?.disabled == true }

    /// The most generous limits the given groups hold on the API, or nil when none of them holds a grant.
    public func access(groups: some Sequence<String>, api: UUID) -> AccessLimits? {
        grantedAccess(groups: groups, api: api)?.limits
    }

    /// The most generous limit the given groups hold on the API, whatever operations their grants cover, with the
    /// grant that gives it (the first such grant by name when several give the same), or nil when none of them
    /// holds a grant.
    public func grantedAccess(groups: some Sequence<String>, api: UUID) -> GrantedLimit? {
        guard let byGroup = compiled.accessByAPI[api] else { return nil }
        var best: GrantedLimit?
        for group in groups {
            guard let next = byGroup[group]?.mostGenerous else { continue }
            if let current = best, !next.isMoreGenerous(than: current) { continue }
            best = next
        }
        return best
    }

    /// The most generous limit the given groups hold on one call: of their grants on the API, those that cover
    /// the operation (`method` and the path the API's document describes, `GatewayAPI.documentPath`).
    public func access(groups: some Sequence<String>, api: UUID, method: String, documentPath: Substring) -> OperationAccess {
        guard let byGroup = compiled.accessByAPI[api] else { return .noGrant }
        var best: GrantedLimit?
        var heldAny = false
        var segments: RequestPathSegments?
        for group in groups {
            guard let access = byGroup[group] else { continue }
            heldAny = true
            if let next = access.unfiltered, best.map(next.isMoreGenerous) ?? true { best = next }
            for filtered in access.filtered where best.map(filtered.limit.isMoreGenerous) ?? true {
                let path = segments ?? RequestPathSegments(documentPath)
                segments = path
                if filtered.patterns.contains(where: { $0.matches(method: method, path: path) }) { best = filtered.limit }
            }
        }
        if let best { return .granted(best) }
        guard heldAny else { return .noGrant }
        return .notCovered(operation: operationName(api: api, method: method, path: segments ?? RequestPathSegments(documentPath)))
    }

    /// How a refusal names a call's operation: its operation id and template when the document has it.
    private func operationName(api: UUID, method: String, path: RequestPathSegments) -> String {
        for (pattern, operation) in compiled.operationsByAPI[api] ?? [] where pattern.matches(method: method, path: path) {
            return operation.operationId.map { "'\($0)' (\(pattern))" } ?? "\(pattern)"
        }
        return "\(method) \(path.text)"
    }
}

extension PolicySnapshot {
    /// For the explainer: the grants `access` weighs for these groups on the API, one line each (a group's
    /// unfiltered grants are compiled into their most generous one).
    public func grantsConsidered(groups: some Sequence<String>, api: UUID) -> [String] {
        guard let byGroup = compiled.accessByAPI[api] else { return [] }
        var lines: [String] = []
        for group in groups {
            guard let access = byGroup[group] else { continue }
            if let unfiltered = access.unfiltered {
                lines.append("group '\(group)': grant '\(unfiltered.grant)', \(unfiltered.limits.summary), every operation")
            }
            for filtered in access.filtered {
                let operations = filtered.patterns.map(\.description).joined(separator: ", ")
                lines.append("group '\(group)': grant '\(filtered.limit.grant)', \(filtered.limit.limits.summary), only \(operations)")
            }
        }
        return lines
    }

    /// For the explainer: the groups that hold any grant on the API.
    public func groupsHoldingGrants(api: UUID) -> [String] {
        (compiled.accessByAPI[api] ?? [:]).keys.sorted()
    }
}

extension AccessLimits {
    /// The limits in a few words: `plan 'gold': 100 calls per 60 s, 10000 calls per month`, or `unlimited`.
    public var summary: String {
        var parts: [String] = []
        if let rate { parts.append("\(rate.limit) calls per \(rate.periodSeconds) s") }
        if let quota { parts.append("a quota of \(quota.limit) calls per \(quota.period.rawValue)") }
        let limits = parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
        return plan.map { "plan '\($0.name)': \(limits)" } ?? limits
    }
}

/// What the groups' grants say of one call.
public enum OperationAccess: Sendable, Equatable {
    case granted(GrantedLimit)
    /// None of the groups holds a grant on the API.
    case noGrant
    /// Grants on the API, none of which covers this operation, named for the refusal.
    case notCovered(operation: String)
}

/// One group's grants on one API: the most generous of those covering every operation, and those covering some.
struct GroupAccess: Sendable {
    var unfiltered: GrantedLimit?
    var filtered: [FilteredLimit] = []

    /// Whatever operation: the most generous of all.
    var mostGenerous: GrantedLimit? {
        var best = unfiltered
        for next in filtered where best.map(next.limit.isMoreGenerous) ?? true { best = next.limit }
        return best
    }
}

struct FilteredLimit: Sendable {
    let limit: GrantedLimit
    let patterns: [OperationPattern]
}

/// The structure compiled for lookups: routes, trusted issuers by issuer, and each group's limit on each API.
private struct CompiledStructure: Sendable {
    let routes: RouteTable
    let trustedIssuers: [String: TrustedIssuer]
    /// API id → group name → the grants that group holds on that API.
    let accessByAPI: [UUID: [String: GroupAccess]]
    /// API id → its document's operations, to name the operation a refused call is.
    let operationsByAPI: [UUID: [(OperationPattern, DocumentOperation)]]

    init(_ structure: PolicyStructure) {
        routes = RouteTable(apis: structure.apis)
        trustedIssuers = Dictionary(structure.trustedIssuers.map { ($0.issuer, $0) }, uniquingKeysWith: { first, _ in first })
        var access: [UUID: [String: GroupAccess]] = [:]
        let allAPIIds = structure.apis.map(\.id)
        // By name, so that among equally generous grants the first by name is the one a response names.
        for grant in structure.grants.sorted(by: { $0.name < $1.name }) {
            let limit = GrantedLimit(limits: grant.limits, grant: grant.name)
            for apiId in grant.apiIds ?? allAPIIds {
                let patterns = grant.operationFilter?.patterns(documented: structure.documentedOperations[apiId] ?? [])
                for group in grant.groups {
                    var held = access[apiId]?[group] ?? GroupAccess()
                    if let patterns {
                        held.filtered.append(FilteredLimit(limit: limit, patterns: patterns))
                    } else if held.unfiltered.map(limit.isMoreGenerous) ?? true {
                        held.unfiltered = limit
                    }
                    access[apiId, default: [:]][group] = held
                }
            }
        }
        accessByAPI = access
        operationsByAPI = structure.documentedOperations.mapValues { operations in
            operations.map { (OperationPattern(method: $0.method, template: $0.path), $0) }
        }
    }
}

/// The limits on one API with the grant that gives them.
public struct GrantedLimit: Sendable, Hashable {
    public let limits: AccessLimits
    public let grant: String

    public init(limits: AccessLimits, grant: String) {
        self.limits = limits
        self.grant = grant
    }

    /// What the rate-limit fields call these limits' policies: the plan's name, or the grant's without a plan.
    public var policyBase: String { limits.plan?.name ?? grant }

    func isMoreGenerous(than other: GrantedLimit) -> Bool { limits.isMoreGenerous(than: other.limits) }
}

/// The outcome of presenting an API key: its owner and key id, or why it was refused.
public enum KeyAuthentication: Sendable, Equatable {
    case accepted(ConsumerPolicy, KeyGrant)
    case rejected(String)
}
