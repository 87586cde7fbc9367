import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// API keys and admin tokens share one shape: an owner, a name, a public prefix and the secret's SHA-256.
public struct KeyRepository: Sendable {
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

    private var select: String {
        let expiry = table == .apiKeys ? "expires_at, disabled_by_mode_switch" : "NULL::timestamptz, false"
        return "SELECT id, user_id, name, prefix, created_at, last_used_at, \(expiry), revoked_at FROM \(table.rawValue)"
    }

    public func create(
        userId: UUID, name: String, secret: GeneratedSecret, expiresAt: Date?, disabledByModeSwitch: Bool = false,
        on connection: PostgresConnection
    ) async throws -> APIKeyInfo {
        let hash = Data(secret.hash.bytes)
        let rows: PostgresRowSequence
        switch table {
        case .apiKeys:
            rows = try await connection.query("""
                INSERT INTO api_keys (user_id, name, prefix, secret_hash, expires_at, disabled_by_mode_switch)
                VALUES (\(userId), \(name), \(secret.publicPrefix), \(hash), \(expiresAt), \(disabledByModeSwitch)) RETURNING id
                """, logger: logger)
        case .adminTokens:
            rows = try await connection.query("""
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

    /// The active (not revoked, not expired) key or token with this hash, and its owner.
    public func owner(ofSecretHash hash: SecretHash, on connection: PostgresConnection) async throws -> (keyId: UUID, userId: UUID)? {
        let rows = try await connection.query("""
            SELECT id, user_id FROM \(unescaped: table.rawValue)
            WHERE secret_hash = \(Data(hash.bytes)) AND revoked_at IS NULL
            """, logger: logger)
        for try await (id, userId) in rows.decode((UUID, UUID).self) { return (id, userId) }
        return nil
    }

    /// Records use in batches: one statement for every key used since the last flush.
    public func markUsed(_ ids: [UUID], at time: Date, on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query("""
            UPDATE \(unescaped: table.rawValue) SET last_used_at = greatest(coalesce(last_used_at, \(time)), \(time))
            WHERE id = ANY(\(ids))
            """, logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIKeyInfo] {
        var keys: [APIKeyInfo] = []
        for try await (id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt) in rows.decode(
            (UUID, UUID, String, String, Date, Date?, Date?, Bool, Date?).self)
        {
            let state = KeyState.of(revokedAt: revokedAt, expiresAt: expiresAt, disabledByModeSwitch: modeSwitched)
            keys.append(APIKeyInfo(
                id: id, userId: userId, name: name, prefix: prefix, state: state, createdAt: createdAt,
                lastUsedAt: lastUsedAt, expiresAt: expiresAt, revokedAt: revokedAt))
        }
        return keys
    }
}
