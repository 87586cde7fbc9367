import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// API keys and admin tokens share one shape: an owner, a name, a public prefix and the secret's SHA-256.
public struct KeyRepository: Sendable {
    /// Which of the two key tables a repository works on.
    public enum Table: String, Sendable {
        case apiKeys = "api_keys"
        case adminTokens = "admin_tokens"
    }

    let logger: Logger
    let table: Table

    public init(table: Table = .apiKeys, logger: Logger) {
        self.table = table
        self.logger = logger
    }

    /// The columns `decode` reads, each prefixed with `alias` (admin tokens neither expire nor switch off).
    private func columns(_ alias: String = "") -> String {
        let expiry = table == .apiKeys ? "\(alias)expires_at, \(alias)disabled_by_mode_switch" : "NULL::timestamptz, false"
        let keyOnly =
            table == .apiKeys ? "\(alias)application_id, \(alias)scopes, \(alias)rotated_from" : "NULL::uuid, NULL::uuid[], NULL::uuid"
        return
            "\(alias)id, \(alias)user_id, \(alias)name, \(alias)prefix, \(alias)created_at, \(alias)last_used_at, \(expiry), \(alias)revoked_at, \(keyOnly)"
    }

    private var select: String { "SELECT \(columns()) FROM \(table.rawValue)" }

    /// Stores a new key (only its prefix and hash) and returns it as listed.
    /// `applicationId` nil puts an API key in its owner's `default` application (the table's trigger makes it).
    public func create(
        userId: UUID, name: String, secret: GeneratedSecret, expiresAt: Date?, disabledByModeSwitch: Bool = false, applicationId: UUID? = nil,
        scopes: [UUID]? = nil, rotatedFrom: UUID? = nil, on connection: PostgresConnection
    ) async throws -> APIKeyInfo {
        let hash = Data(secret.hash.bytes)
        let rows: PostgresRowSequence
        switch table {
        case .apiKeys:
            rows = try await connection.query(
                """
                INSERT INTO api_keys (user_id, name, prefix, secret_hash, expires_at, disabled_by_mode_switch, application_id, scopes, rotated_from)
                VALUES (\(userId), \(name), \(secret.publicPrefix), \(hash), \(expiresAt), \(disabledByModeSwitch), \(applicationId),
                        \(scopes)::uuid[], \(rotatedFrom))
                RETURNING id
                """, logger: logger)
        case .adminTokens:
            rows = try await connection.query(
                """
                INSERT INTO admin_tokens (user_id, name, prefix, secret_hash)
                VALUES (\(userId), \(name), \(secret.publicPrefix), \(hash)) RETURNING id
                """, logger: logger)
        }
        guard let id = try await rows.decode(UUID.self).first(where: { _ in true }), let key = try await find(id, on: connection) else {
            throw PorticoError.conflict("the key was not created")
        }
        return key
    }

    public func list(userId: UUID, on connection: PostgresConnection) async throws -> [APIKeyInfo] {
        try await decode(connection.query("\(unescaped: select) WHERE user_id = \(userId) ORDER BY created_at DESC", logger: logger))
    }

    /// A key with its owner's email, for lists across users.
    public struct OwnedKey: Sendable {
        public let key: APIKeyInfo
        public let ownerEmail: String
    }

    /// Every user's keys, newest first, a page at a time.
    public func listAll(limit: Int, offset: Int, on connection: PostgresConnection) async throws -> [OwnedKey] {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: columns("k.")), u.email FROM \(unescaped: table.rawValue) k JOIN users u ON u.id = k.user_id
            ORDER BY k.created_at DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var result: [OwnedKey] = []
        for try await (id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt, application, scopes, rotatedFrom, email)
            in rows.decode((UUID, UUID, String, String, Date, Date?, Date?, Bool, Date?, UUID?, [UUID]?, UUID?, String).self)
        {
            var key = Self.info(id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt)
            key.applicationId = application
            key.scopes = scopes
            key.rotatedFrom = rotatedFrom
            result.append(OwnedKey(key: key, ownerEmail: email))
        }
        return result
    }

    public func count(on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.query("SELECT count(*) FROM \(unescaped: table.rawValue)", logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> APIKeyInfo? {
        try await decode(connection.query("\(unescaped: select) WHERE id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> APIKeyInfo {
        guard let key = try await find(id, on: connection) else { throw PorticoError.notFound("key \(id)") }
        return key
    }

    /// Marks the key revoked; a key already revoked keeps its first revocation time.
    public func revoke(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE \(unescaped: table.rawValue) SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id)", logger: logger)
    }

    /// Brings the key's expiry forward to `date` (never later than it was): the end of a rotation's overlap.
    public func expire(_ id: UUID, at date: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE \(unescaped: table.rawValue) SET expires_at = least(coalesce(expires_at, \(date)), \(date)) WHERE id = \(id)", logger: logger)
    }

    /// The keys of an application, newest first.
    public func list(applicationId: UUID, on connection: PostgresConnection) async throws -> [APIKeyInfo] {
        try await decode(connection.query("\(unescaped: select) WHERE application_id = \(applicationId) ORDER BY created_at DESC", logger: logger))
    }

    /// The active (not revoked, not expired) key or token with this hash, and its owner.
    public func owner(ofSecretHash hash: SecretHash, on connection: PostgresConnection) async throws -> (keyId: UUID, userId: UUID)? {
        let rows = try await connection.query(
            """
            SELECT id, user_id FROM \(unescaped: table.rawValue)
            WHERE secret_hash = \(Data(hash.bytes)) AND revoked_at IS NULL
            """, logger: logger)
        for try await (id, userId) in rows.decode((UUID, UUID).self) { return (id, userId) }
        return nil
    }

    /// The key with this hash in whatever state (revoked, expired, turned off), for the explainer.
    public func find(secretHash hash: SecretHash, on connection: PostgresConnection) async throws -> APIKeyInfo? {
        try await decode(
            connection.query("\(unescaped: select) WHERE secret_hash = \(Data(hash.bytes))", logger: logger)
        ).first
    }

    /// Records use in batches: one statement for every key used since the last flush.
    public func markUsed(_ ids: [UUID], at time: Date, on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            """
            UPDATE \(unescaped: table.rawValue) SET last_used_at = greatest(coalesce(last_used_at, \(time)), \(time))
            WHERE id = ANY(\(ids))
            """, logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIKeyInfo] {
        var keys: [APIKeyInfo] = []
        for try await (id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt, application, scopes, rotatedFrom)
            in rows.decode((UUID, UUID, String, String, Date, Date?, Date?, Bool, Date?, UUID?, [UUID]?, UUID?).self)
        {
            var info = Self.info(id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt)
            info.applicationId = application
            info.scopes = scopes
            info.rotatedFrom = rotatedFrom
            keys.append(info)
        }
        return keys
    }

    private static func info(
        _ id: UUID, _ userId: UUID, _ name: String, _ prefix: String, _ createdAt: Date, _ lastUsedAt: Date?, _ expiresAt: Date?,
        _ modeSwitched: Bool, _ revokedAt: Date?
    ) -> APIKeyInfo {
        APIKeyInfo(
            id: id, userId: userId, name: name, prefix: prefix,
            state: KeyState.of(revokedAt: revokedAt, expiresAt: expiresAt, disabledByModeSwitch: modeSwitched), createdAt: createdAt,
            lastUsedAt: lastUsedAt, expiresAt: expiresAt, revokedAt: revokedAt)
    }
}
