import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Invitation links: a consumer sets a password with the link; only the token's hash is stored.
public struct InvitationRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func create(tokenHash: SecretHash, userId: UUID, validForSeconds: Int, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO invitations (token_hash, user_id, expires_at)
            VALUES (\(Data(tokenHash.bytes)), \(userId), now() + make_interval(secs => \(validForSeconds)))
            """, logger: logger)
    }

    /// The invited user, when the link is unused and unexpired.
    public func pendingUser(tokenHash: SecretHash, on connection: PostgresConnection) async throws -> UUID? {
        let rows = try await connection.query(
            """
            SELECT user_id FROM invitations WHERE token_hash = \(Data(tokenHash.bytes)) AND used_at IS NULL AND expires_at > now()
            """, logger: logger)
        for try await userId in rows.decode(UUID.self) { return userId }
        return nil
    }

    public func markUsed(tokenHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE invitations SET used_at = now() WHERE token_hash = \(Data(tokenHash.bytes))", logger: logger)
    }
}
