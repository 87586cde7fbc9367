import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Dashboard and portal sessions. The cookie holds a random secret; only its SHA-256 is stored.
public struct WebSessionRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// A live session: whose it is and the token its forms carry.
    public struct Session: Sendable {
        public let userId: UUID
        public let csrfToken: String
        public let lastSeenAt: Date
        public let createdAt: Date
    }

    /// A session started by signing in through an identity provider remembers it and the ID token (sealed by the
    /// caller, or nil), which the provider's sign-out takes as a hint.
    public func create(
        secretHash: SecretHash, userId: UUID, csrfToken: String, provider: (id: UUID, sealedIdToken: String?)? = nil,
        on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO web_sessions (id_hash, user_id, csrf_token, identity_provider_id, id_token)
            VALUES (\(Data(secretHash.bytes)), \(userId), \(csrfToken), \(provider?.id), \(provider?.sealedIdToken))
            """, logger: logger)
    }

    /// Ends the session; when it came from an identity provider, says which one and with what ID token.
    public func end(secretHash: SecretHash, on connection: PostgresConnection) async throws -> (providerId: UUID, sealedIdToken: String?)? {
        let rows = try await connection.query(
            "DELETE FROM web_sessions WHERE id_hash = \(Data(secretHash.bytes)) RETURNING identity_provider_id, id_token", logger: logger)
        for try await (providerId, idToken) in rows.decode((UUID?, String?).self) {
            guard let providerId else { return nil }
            return (providerId, idToken)
        }
        return nil
    }

    /// The session when it has been used within `idleSeconds` and is younger than `maxAgeSeconds`; its last-seen
    /// time moves to now (a sliding idle timeout). An expired session is deleted.
    public func touch(secretHash: SecretHash, idleSeconds: Int, maxAgeSeconds: Int, on connection: PostgresConnection) async throws -> Session? {
        let hash = Data(secretHash.bytes)
        let rows = try await connection.query(
            """
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
}
