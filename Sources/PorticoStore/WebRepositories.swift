import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Dashboard and portal sessions. The cookie holds a random secret; only its SHA-256 is stored.
public struct WebSessionRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public struct Session: Sendable {
        public let userId: UUID
        public let csrfToken: String
        public let lastSeenAt: Date
        public let createdAt: Date
    }

    public func create(secretHash: SecretHash, userId: UUID, csrfToken: String, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO web_sessions (id_hash, user_id, csrf_token) VALUES (\(Data(secretHash.bytes)), \(userId), \(csrfToken))
            """, logger: logger)
    }

    /// The session when it has been used within `idleSeconds` and is younger than `maxAgeSeconds`; its last-seen
    /// time moves to now (a sliding idle timeout). An expired session is deleted.
    public func touch(secretHash: SecretHash, idleSeconds: Int, maxAgeSeconds: Int, on connection: PostgresConnection) async throws -> Session? {
        let hash = Data(secretHash.bytes)
        let rows = try await connection.query("""
            UPDATE web_sessions SET last_seen_at = now()
            WHERE id_hash = \(hash) AND last_seen_at > now() - make_interval(secs => \(idleSeconds))
              AND created_at > now() - make_interval(secs => \(maxAgeSeconds))
            RETURNING user_id, csrf_token, last_seen_at, created_at
            """, logger: logger)
        for try await (userId, csrf, lastSeen, created) in rows.decode((UUID, String, Date, Date).self) {
            return Session(userId: userId, csrfToken: csrf, lastSeenAt: lastSeen, createdAt: created)
        }
        try await delete(secretHash: secretHash, on: connection)
        return nil
    }

    public func delete(secretHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM web_sessions WHERE id_hash = \(Data(secretHash.bytes))", logger: logger)
    }

    public func deleteAll(of userId: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM web_sessions WHERE user_id = \(userId)", logger: logger)
    }
}

/// Failed sign-ins per subject (an account or an address), for `SignInThrottle`.
public struct SignInFailureRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public struct State: Sendable {
        public let failures: Int
        public let lockedForSeconds: Double?
    }

    /// Recent failures and any lockout still running; failures older than the window count as none.
    public func state(of subject: String, windowSeconds: Double, on connection: PostgresConnection) async throws -> State {
        let rows = try await connection.query("""
            SELECT CASE WHEN first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN failures ELSE 0 END,
                   extract(epoch FROM locked_until - now())::float8
            FROM sign_in_failures WHERE subject = \(subject)
            """, logger: logger)
        for try await (failures, lockedFor) in rows.decode((Int, Double?).self) {
            return State(failures: failures, lockedForSeconds: lockedFor.flatMap { $0 > 0 ? $0 : nil })
        }
        return State(failures: 0, lockedForSeconds: nil)
    }

    /// Counts a failure (starting a new window when the old one has passed) and locks when `lockAt` is reached.
    @discardableResult
    public func recordFailure(
        of subject: String, windowSeconds: Double, lockAt: Int, lockoutSeconds: Double, on connection: PostgresConnection
    ) async throws -> Int {
        let rows = try await connection.query("""
            INSERT INTO sign_in_failures AS f (subject, failures, first_failure_at) VALUES (\(subject), 1, now())
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN f.first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN f.failures + 1 ELSE 1 END,
                first_failure_at = CASE WHEN f.first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN f.first_failure_at ELSE now() END,
                locked_until = CASE WHEN f.locked_until > now() THEN f.locked_until ELSE NULL END
            RETURNING failures
            """, logger: logger)
        var count = 0
        for try await failures in rows.decode(Int.self) { count = failures }
        if count >= lockAt {
            try await connection.query("""
                UPDATE sign_in_failures SET locked_until = now() + make_interval(secs => \(lockoutSeconds)) WHERE subject = \(subject)
                """, logger: logger)
        }
        return count
    }

    public func clear(_ subject: String, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM sign_in_failures WHERE subject = \(subject)", logger: logger)
    }
}

/// Invitation links: a consumer sets a password with the link; only the token's hash is stored.
public struct InvitationRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func create(tokenHash: SecretHash, userId: UUID, validForSeconds: Int, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO invitations (token_hash, user_id, expires_at)
            VALUES (\(Data(tokenHash.bytes)), \(userId), now() + make_interval(secs => \(validForSeconds)))
            """, logger: logger)
    }

    /// The invited user, when the link is unused and unexpired.
    public func pendingUser(tokenHash: SecretHash, on connection: PostgresConnection) async throws -> UUID? {
        let rows = try await connection.query("""
            SELECT user_id FROM invitations WHERE token_hash = \(Data(tokenHash.bytes)) AND used_at IS NULL AND expires_at > now()
            """, logger: logger)
        for try await userId in rows.decode(UUID.self) { return userId }
        return nil
    }

    public func markUsed(tokenHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE invitations SET used_at = now() WHERE token_hash = \(Data(tokenHash.bytes))", logger: logger)
    }
}

/// Counts and cross-user lists for the dashboard.
public struct DashboardQueries: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public struct Counts: Sendable, Equatable {
        public var users = 0
        public var tokenUsers = 0
        public var groups = 0
        public var apis = 0
        public var accesses = 0
        public var activeKeys = 0
    }

    public func counts(on connection: PostgresConnection) async throws -> Counts {
        let rows = try await connection.query("""
            SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE external_id IS NOT NULL),
                   (SELECT count(*) FROM groups), (SELECT count(*) FROM apis), (SELECT count(*) FROM api_access),
                   (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND NOT disabled_by_mode_switch
                        AND (expires_at IS NULL OR expires_at > now()))
            """, logger: logger)
        for try await (users, tokenUsers, groups, apis, accesses, keys) in rows.decode((Int, Int, Int, Int, Int, Int).self) {
            return Counts(users: users, tokenUsers: tokenUsers, groups: groups, apis: apis, accesses: accesses, activeKeys: keys)
        }
        return Counts()
    }

    public struct KeyRow: Sendable {
        public let key: APIKeyInfo
        public let userEmail: String
    }

    /// Every user's keys, newest first, for the dashboard's key list.
    public func keys(limit: Int, offset: Int, on connection: PostgresConnection) async throws -> [KeyRow] {
        let rows = try await connection.query("""
            SELECT k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at, k.expires_at, k.disabled_by_mode_switch,
                   k.revoked_at, u.email
            FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.created_at DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var result: [KeyRow] = []
        for try await (id, userId, name, prefix, createdAt, lastUsedAt, expiresAt, modeSwitched, revokedAt, email) in rows.decode(
            (UUID, UUID, String, String, Date, Date?, Date?, Bool, Date?, String).self)
        {
            let key = APIKeyInfo(
                id: id, userId: userId, name: name, prefix: prefix,
                state: KeyState.of(revokedAt: revokedAt, expiresAt: expiresAt, disabledByModeSwitch: modeSwitched),
                createdAt: createdAt, lastUsedAt: lastUsedAt, expiresAt: expiresAt, revokedAt: revokedAt)
            result.append(KeyRow(key: key, userEmail: email))
        }
        return result
    }

    public func keyCount(on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.query("SELECT count(*) FROM api_keys", logger: logger).decode(Int.self) { return count }
        return 0
    }

    public func auditCount(on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.query("SELECT count(*) FROM audit_log", logger: logger).decode(Int.self) { return count }
        return 0
    }
}
