import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Reads the whole policy in one REPEATABLE READ transaction and compiles it into a snapshot, so the
/// snapshot is consistent with exactly one policy version.
public struct PolicyRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// A long load logs its progress every this many keys.
    static let progressEvery = 250_000

    /// The policy version every admin change moves on; the feed compares it with its snapshot's.
    public func currentVersion(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query("SELECT version FROM policy_state", logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        return 0
    }

    /// The stored auth mode.
    public func authMode(on connection: PostgresConnection) async throws -> AuthMode {
        let rows = try await connection.query("SELECT mode FROM auth_settings", logger: logger)
        for try await mode in rows.decode(String.self) { return AuthMode(rawValue: mode) ?? .apiKey }
        return .apiKey
    }

    /// Reads the whole policy in one transaction and compiles the gateway's snapshot of it.
    /// The whole policy streams in row by row; `timeout` is the load's own deadline, not the admin API's.
    /// `onPart` hears of each part as it is read (APIs, then users, then keys, with their counts), so
    /// `portico policy measure` can say what each costs.
    public func loadSnapshot(
        from database: Database, timeout: Duration? = nil, onPart: @escaping @Sendable (PolicyPart, Int) -> Void = { _, _ in }
    ) async throws -> PolicySnapshot {
        try await database.read(timeout: timeout) { connection in
            try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                try await load(on: connection, onPart: onPart)
            }
        }
    }

    /// The parts of a policy load, in the order they are read.
    public enum PolicyPart: String, Sendable {
        case apis = "APIs"
        case users
        case keys
    }

    /// An OIDC-protected API's settings with its provider; any missing piece is an error, so the API is not routed.
    private func oidcRoute(_ json: String?, prefix: String, providers: [IdentityProvider]) throws -> OIDCRoute {
        guard let json else { throw PorticoError.invalid(field: "oidc", reason: "missing") }
        let config = try JSONDecoder().decode(APIOIDCSettings.self, from: Data(json.utf8)).compiled(pathPrefix: prefix)
        guard let provider = providers.first(where: { $0.settings.name == config.providerName }) else {
            throw PorticoError.invalid(field: "oidc.provider", reason: "no identity provider named '\(config.providerName)'")
        }
        return OIDCRoute(config: config, provider: try provider.settings.compiled(), metadata: provider.metadata)
    }

    private func load(on connection: PostgresConnection, onPart: @Sendable (PolicyPart, Int) -> Void) async throws -> PolicySnapshot {
        let version = try await currentVersion(on: connection)
        let structure = try await loadStructure(on: connection)
        onPart(.apis, structure.apis.count)

        var groupsByUser: [UUID: [String]] = [:]
        let membershipRows = try await connection.query(
            "SELECT m.user_id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id", logger: logger)
        for try await (userId, group) in membershipRows.decode((UUID, String).self) {
            groupsByUser[userId, default: []].append(group)
        }
        var consumers = ShardedMap<UUID, ConsumerPolicy>(shardCount: PolicySnapshot.consumerShards)
        var disabledExternalIds = ShardedMap<String, UUID>(shardCount: PolicySnapshot.disabledShards)
        let userRows = try await connection.query(
            "SELECT id, disabled, external_id FROM users WHERE \(unescaped: Self.heldUser("users"))", logger: logger)
        for try await (id, disabled, externalId) in userRows.decode((UUID, Bool, String?).self) {
            consumers[id] = ConsumerPolicy(userId: id, disabled: disabled, groups: groupsByUser[id] ?? [], externalId: externalId)
            if disabled, let externalId { disabledExternalIds[externalId] = id }
        }

        onPart(.users, consumers.count)
        var keys = ShardedMap<SecretHash, KeyGrant>(shardCount: PolicySnapshot.keyShards)
        if structure.auth.mode == .apiKey {
            keys.reserveCapacity(try await estimatedKeyCount(on: connection))
            let keyRows = try await connection.query(
                "SELECT id, user_id, secret_hash, \(unescaped: Self.expiryMillis), application_id, scopes FROM api_keys WHERE \(unescaped: Self.admitted)",
                logger: logger)
            for try await (id, userId, hash, expiresAt, application, scopes) in keyRows.decode((UUID, UUID, Data, Int64?, UUID, [UUID]?).self) {
                guard let secretHash = SecretHash(bytes: Array(hash)) else { continue }
                keys[secretHash] = KeyGrant(keyId: id, userId: userId, expiresAtMillis: expiresAt, applicationId: application, scopes: scopes)
                // A policy of millions of keys takes seconds to read: say how far it has got.
                if keys.count % Self.progressEvery == 0 { logger.info("policy loading", metadata: ["keys so far": "\(keys.count)"]) }
            }
        }
        onPart(.keys, keys.count)
        return PolicySnapshot(
            version: version, structure: structure, keys: keys, consumers: consumers, disabledExternalIds: disabledExternalIds)
    }

    /// The keys the gateway admits: neither revoked, nor switched off with API-key mode, nor expired.
    static let admitted = "revoked_at IS NULL AND NOT disabled_by_mode_switch AND (expires_at IS NULL OR expires_at > now())"
    static let expiryMillis = "floor(extract(epoch FROM expires_at) * 1000)::bigint"

    /// The users a snapshot holds: those a decision can reach, the owners of admitted keys and the disabled
    /// (whose tokens are refused). Others, such as the many token users of JWT mode, are left out.
    static func heldUser(_ table: String) -> String {
        // EXISTS, not IN: under OR, IN becomes a subplan scanned once per user when the key ids exceed work_mem.
        "(\(table).disabled OR EXISTS (SELECT 1 FROM api_keys WHERE api_keys.user_id = \(table).id AND \(admitted)))"
    }

    /// PostgreSQL's own estimate, good enough to size the key map before the rows stream in.
    private func estimatedKeyCount(on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'api_keys'::regclass", logger: logger)
        for try await estimate in rows.decode(Int64.self) { return Int(clamping: estimate) }
        return 0
    }

    /// APIs, grants, auth settings and trusted providers: the small part of the policy, read whole. Sorted, so
    /// two reads of the same policy compare equal.
    public func loadStructure(on connection: PostgresConnection) async throws -> PolicyStructure {
        let stored = try await AuthSettingsRepository(logger: logger).load(on: connection)
        let auth: CompiledAuthSettings
        do {
            auth = try stored.settings.compiled()
        } catch {
            // Settings are checked before they are saved; this guards against a hand-edited row.
            logger.error("stored auth settings are invalid; JWT verification is off", metadata: ["error": "\(error)"])
            auth = CompiledAuthSettings(mode: stored.settings.mode, jwt: nil, mapping: CompiledAuthSettings.apiKeyDefault.mapping)
        }

        var tokenIssuersByAPI: [UUID: [String]] = [:]
        let narrowingRows = try await connection.query(
            "SELECT t.api_id, p.issuer FROM api_token_providers t JOIN identity_providers p ON p.id = t.provider_id", logger: logger)
        for try await (apiId, issuer) in narrowingRows.decode((UUID, String).self) { tokenIssuersByAPI[apiId, default: []].append(issuer) }

        let providers = try await IdentityProviderRepository(logger: logger).list(on: connection)
        var apis: [GatewayAPI] = []
        let apiRows = try await connection.query(
            """
            SELECT id, name, path_prefix, host, upstream, strip_prefix, status, auth, oidc::text, forward_credential, max_body_bytes
            FROM apis ORDER BY id
            """, logger: logger)
        for try await (id, name, prefix, host, upstream, strip, status, auth, oidc, forwardCredential, maxBodyBytes) in apiRows.decode(
            (UUID, String, String, String?, String, Bool, String, String, String?, Bool, Int64?).self)
        {
            do {
                let route = try auth == APIAuth.oidc.rawValue ? oidcRoute(oidc, prefix: prefix, providers: providers) : nil
                apis.append(
                    GatewayAPI(
                        id: id, name: name, pathPrefix: prefix, host: host, upstream: try Upstream(upstream),
                        stripPrefix: strip, status: APIStatus(rawValue: status) ?? .disabled, tokenIssuers: tokenIssuersByAPI[id]?.sorted(),
                        oidc: route, forwardCredential: forwardCredential, maxBodyBytes: maxBodyBytes.map(Int.init)))
            } catch {
                // Checked before it was saved; an API whose settings no longer compile is not routed rather than open.
                logger.error("API skipped: its upstream or OIDC settings are invalid", metadata: ["api": "\(name)", "error": "\(error)"])
            }
        }

        var grants: [AccessGrant] = []
        let grantRows = try await connection.query(
            """
            SELECT a.name, a.all_apis, a.rate_limit, a.rate_period_seconds,
                   coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM api_access_groups ag JOIN groups g ON g.id = ag.group_id
                             WHERE ag.access_id = a.id), '{}'),
                   coalesce((SELECT array_agg(aa.api_id ORDER BY aa.api_id) FROM api_access_apis aa WHERE aa.access_id = a.id), '{}'),
                   p.id, p.name, p.rate_limit, p.rate_period_seconds, p.quota_limit, p.quota_period, p.bucket, a.operation_filter::text
            FROM api_access a LEFT JOIN plans p ON p.id = a.plan_id ORDER BY a.name
            """, logger: logger)
        for try await (
            name, allApis, limit, period, groups, apiIds, planId, planName, planLimit, planPeriod, quotaLimit, quotaPeriod, bucket, filter
        )
            in grantRows.decode((String, Bool, Int?, Int?, [String], [UUID], UUID?, String?, Int?, Int?, Int?, String?, String?, String?).self)
        {
            let plan = planId.flatMap { id in
                planName.map { name in
                    PlanRecord.compiled(
                        id: id, name: name, rateLimit: planLimit, ratePeriod: planPeriod, quotaLimit: quotaLimit, quotaPeriod: quotaPeriod,
                        bucket: bucket)
                }
            }
            // Checked before it was saved; a filter that no longer reads covers nothing rather than everything.
            let operationFilter = filter.map { (try? JSONDecoder().decode(OperationFilter.self, from: Data($0.utf8))) ?? OperationFilter() }
            grants.append(
                AccessGrant(
                    name: name, groups: groups, apiIds: allApis ? nil : apiIds, rateLimit: RateLimit.stored(limit, period), plan: plan,
                    operationFilter: operationFilter))
        }
        var trustedIssuers: [TrustedIssuer] = []
        if let handling = auth.jwt {
            for provider in providers.sorted(by: { $0.settings.name < $1.settings.name }) where provider.settings.acceptTokens == true {
                do {
                    trustedIssuers.append(TrustedIssuer(provider: try provider.settings.compiled(), metadata: provider.metadata, handling: handling))
                } catch {
                    logger.error("identity provider skipped: its stored settings are invalid", metadata: ["provider": "\(provider.settings.name)"])
                }
            }
        }
        return PolicyStructure(
            apis: apis, grants: grants, auth: auth, authVersion: stored.version, trustedIssuers: trustedIssuers,
            documentedOperations: try await APIDocumentRepository(logger: logger).operations(on: connection))
    }
}
