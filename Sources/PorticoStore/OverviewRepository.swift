import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The dashboard overview's figures: how many of each thing Portico holds.
public struct OverviewRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Row counts for the overview; keys count as active when the gateway would accept them.
    public struct Counts: Sendable, Equatable {
        public var users = 0
        public var tokenUsers = 0
        public var groups = 0
        public var apis = 0
        public var accesses = 0
        public var activeKeys = 0
    }

    public func counts(on connection: PostgresConnection) async throws -> Counts {
        let rows = try await connection.query(
            """
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
}
