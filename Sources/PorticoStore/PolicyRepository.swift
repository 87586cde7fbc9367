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
    public func loadSnapshot(from database: Database, timeout: Duration? = nil) async throws -> PolicySnapshot {
        try await database.read(timeout: timeout) { connection in
            try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                try await load(on: connection)
            }
        }
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

    private func load(on connection: PostgresConnection) async throws -> PolicySnapshot {
        let version = try await currentVersion(on: connection)
        let stored = try await AuthSettingsRepository(logger: logger).load(on: connection)
        let mode = stored.settings.mode
        let auth: CompiledAuthSettings
        do {
            auth = try stored.settings.compiled()
        } catch {
            // Settings are checked before they are saved; this guards against a hand-edited row.
            logger.error("stored auth settings are invalid; JWT verification is off", metadata: ["error": "\(error)"])
            auth = CompiledAuthSettings(mode: mode, jwt: nil, mapping: CompiledAuthSettings.apiKeyDefault.mapping)
        }

        var tokenIssuersByAPI: [UUID: [String]] = [:]
        let narrowingRows = try await connection.query(
            "SELECT t.api_id, p.issuer FROM api_token_providers t JOIN identity_providers p ON p.id = t.provider_id", logger: logger)
        for try await (apiId, issuer) in narrowingRows.decode((UUID, String).self) { tokenIssuersByAPI[apiId, default: []].append(issuer) }

        let providers = try await IdentityProviderRepository(logger: logger).list(on: connection)
        var apis: [GatewayAPI] = []
        let apiRows = try await connection.query(
            "SELECT id, name, path_prefix, host, upstream, strip_prefix, status, auth, oidc::text FROM apis", logger: logger)
        for try await (id, name, prefix, host, upstream, strip, status, auth, oidc) in apiRows.decode(
            (UUID, String, String, String?, String, Bool, String, String, String?).self)
        {
            do {
                let route = try auth == APIAuth.oidc.rawValue ? oidcRoute(oidc, prefix: prefix, providers: providers) : nil
                apis.append(
                    GatewayAPI(
                        id: id, name: name, pathPrefix: prefix, host: host, upstream: try Upstream(upstream),
                        stripPrefix: strip, status: APIStatus(rawValue: status) ?? .disabled, tokenIssuers: tokenIssuersByAPI[id]?.sorted(),
                        oidc: route))
            } catch {
                // Checked before it was saved; an API whose settings no longer compile is not routed rather than open.
                logger.error("API skipped: its upstream or OIDC settings are invalid", metadata: ["api": "\(name)", "error": "\(error)"])
            }
        }

        var groupsByUser: [UUID: [String]] = [:]
        let membershipRows = try await connection.query(
            "SELECT m.user_id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id", logger: logger)
        for try await (userId, group) in membershipRows.decode((UUID, String).self) {
            groupsByUser[userId, default: []].append(group)
        }
        var consumers: [ConsumerPolicy] = []
        var disabledExternalIds: Set<String> = []
        let userRows = try await connection.query("SELECT id, disabled, external_id FROM users", logger: logger)
        for try await (id, disabled, externalId) in userRows.decode((UUID, Bool, String?).self) {
            consumers.append(ConsumerPolicy(userId: id, disabled: disabled, groups: groupsByUser[id] ?? []))
            if disabled, let externalId { disabledExternalIds.insert(externalId) }
        }

        var keys: [SecretHash: KeyGrant] = [:]
        if mode == .apiKey {
            let keyRows = try await connection.query(
                """
                SELECT id, user_id, secret_hash, floor(extract(epoch FROM expires_at) * 1000)::bigint FROM api_keys
                WHERE revoked_at IS NULL AND NOT disabled_by_mode_switch AND (expires_at IS NULL OR expires_at > now())
                """, logger: logger)
            for try await (id, userId, hash, expiresAt) in keyRows.decode((UUID, UUID, Data, Int64?).self) {
                guard let secretHash = SecretHash(bytes: Array(hash)) else { continue }
                keys[secretHash] = KeyGrant(keyId: id, userId: userId, expiresAtMillis: expiresAt)
                // A policy of millions of keys takes seconds to read: say how far it has got.
                if keys.count % Self.progressEvery == 0 { logger.info("policy loading", metadata: ["keys so far": "\(keys.count)"]) }
            }
        }

        var grants: [AccessGrant] = []
        let grantRows = try await connection.query(
            """
            SELECT a.name, a.all_apis, a.rate_limit, a.rate_period_seconds,
                   coalesce((SELECT array_agg(g.name) FROM api_access_groups ag JOIN groups g ON g.id = ag.group_id
                             WHERE ag.access_id = a.id), '{}'),
                   coalesce((SELECT array_agg(aa.api_id) FROM api_access_apis aa WHERE aa.access_id = a.id), '{}')
            FROM api_access a
            """, logger: logger)
        for try await (name, allApis, limit, period, groups, apiIds) in grantRows.decode(
            (String, Bool, Int?, Int?, [String], [UUID]).self)
        {
            let rateLimit = limit.flatMap { limit in period.flatMap { try? RateLimit(limit: limit, periodSeconds: $0) } }
            grants.append(AccessGrant(name: name, groups: groups, apiIds: allApis ? nil : apiIds, rateLimit: rateLimit))
        }
        var trustedIssuers: [TrustedIssuer] = []
        if let handling = auth.jwt {
            for provider in providers where provider.settings.acceptTokens == true {
                do {
                    trustedIssuers.append(TrustedIssuer(provider: try provider.settings.compiled(), metadata: provider.metadata, handling: handling))
                } catch {
                    logger.error("identity provider skipped: its stored settings are invalid", metadata: ["provider": "\(provider.settings.name)"])
                }
            }
        }
        return PolicySnapshot(
            version: version, apis: apis, keys: keys, consumers: consumers, grants: grants,
            auth: auth, authVersion: stored.version, disabledExternalIds: disabledExternalIds, trustedIssuers: trustedIssuers)
    }
}
