import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Reads the policy change log (`policy_changes`, written by triggers in the transaction of each change, see
/// `sql/0008_policy_changes.sql`): what changed after a snapshot's version, as a delta to apply to it.
public struct PolicyChangeLog: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// How a snapshot catches up with the database.
    public enum CatchUp: Sendable {
        /// The snapshot is at the database's version.
        case current
        /// Apply this delta, made of this many logged changes.
        case delta(PolicyDelta, changes: Int)
        /// The log cannot bring the snapshot up to date; the reason is for the log line.
        case fullLoad(reason: String)
    }

    /// Reads, in one REPEATABLE READ transaction, the changes after `snapshot`'s version and the current state
    /// of everything they name, so the delta brings the snapshot to exactly one later version.
    public func catchUp(from snapshot: PolicySnapshot, maxChanges: Int, database: Database, timeout: Duration?) async throws -> CatchUp {
        try await database.read(timeout: timeout) { connection in
            try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                try await catchUp(from: snapshot, maxChanges: maxChanges, on: connection)
            }
        }
    }

    private func catchUp(from snapshot: PolicySnapshot, maxChanges: Int, on connection: PostgresConnection) async throws -> CatchUp {
        let state = try await connection.query("SELECT version, pruned_through FROM policy_state", logger: logger)
        var version: Int64 = 0
        var prunedThrough: Int64 = 0
        for try await (current, pruned) in state.decode((Int64, Int64).self) { (version, prunedThrough) = (current, pruned) }
        if version == snapshot.version { return .current }
        if version < snapshot.version { return .fullLoad(reason: "the database's policy version \(version) is older than the snapshot's") }
        if snapshot.version < prunedThrough { return .fullLoad(reason: "the change log no longer reaches back to version \(snapshot.version)") }

        let rows = try await connection.query(
            """
            SELECT kind, ref FROM policy_changes WHERE version > \(snapshot.version) AND version <= \(version)
            ORDER BY version LIMIT \(maxChanges + 1)
            """, logger: logger)
        var changes = 0
        var keyRefs: [String] = []
        var userIds: Set<UUID> = []
        var groupIds: [UUID] = []
        var structural = false
        for try await (kind, ref) in rows.decode((String, String).self) {
            changes += 1
            switch kind {
            case "key": keyRefs.append(ref)
            case "user": if let id = UUID(uuidString: ref) { userIds.insert(id) }
            case "group":
                structural = true
                if let id = UUID(uuidString: ref) { groupIds.append(id) }
            case "api", "grant", "plan", "auth", "provider": structural = true
            case "policy": return .fullLoad(reason: "a change too large to apply entry by entry")
            default: return .fullLoad(reason: "a kind of change this version does not know ('\(kind)')")
            }
        }
        if changes > maxChanges { return .fullLoad(reason: "more than \(maxChanges) changes behind") }

        let structure = structural ? try await PolicyRepository(logger: logger).loadStructure(on: connection) : nil
        if let structure, structure.auth.mode != snapshot.auth.mode { return .fullLoad(reason: "the auth mode changed") }
        let mode = snapshot.auth.mode

        var keys: [SecretHash: KeyGrant?] = [:]
        for ref in keyRefs {
            guard let hash = SecretHash(hex: ref) else { continue }
            keys[hash] = .some(nil)
        }
        if !keyRefs.isEmpty {
            let keyRows = try await connection.query(
                """
                SELECT id, user_id, secret_hash, \(unescaped: PolicyRepository.expiryMillis), (\(unescaped: PolicyRepository.admitted)),
                       application_id, scopes
                FROM api_keys WHERE secret_hash IN (SELECT decode(ref, 'hex') FROM unnest(\(keyRefs)::text[]) AS ref)
                """, logger: logger)
            for try await (id, userId, hash, expiresAt, admitted, application, scopes) in keyRows.decode(
                (UUID, UUID, Data, Int64?, Bool, UUID, [UUID]?).self)
            {
                // A user's first key brings them into the snapshot; their last one takes them out.
                userIds.insert(userId)
                guard mode == .apiKey, admitted, let secretHash = SecretHash(bytes: Array(hash)) else { continue }
                keys[secretHash] = KeyGrant(keyId: id, userId: userId, expiresAtMillis: expiresAt, applicationId: application, scopes: scopes)
            }
        }
        if !groupIds.isEmpty {
            // A renamed group renames itself in each member's groups.
            let members = try await connection.query("SELECT user_id FROM memberships WHERE group_id = ANY(\(groupIds))", logger: logger)
            for try await userId in members.decode(UUID.self) { userIds.insert(userId) }
        }

        // A changed user the snapshot no longer holds (deleted, or neither disabled nor owning an admitted key) is dropped.
        var consumers: [UUID: ConsumerPolicy?] = Dictionary(uniqueKeysWithValues: userIds.map { ($0, nil) })
        if !userIds.isEmpty {
            let userRows = try await connection.query(
                """
                SELECT u.id, u.disabled, u.external_id, coalesce(array_agg(g.name) FILTER (WHERE g.name IS NOT NULL), '{}')
                FROM users u LEFT JOIN memberships m ON m.user_id = u.id LEFT JOIN groups g ON g.id = m.group_id
                WHERE u.id = ANY(\(Array(userIds))) AND \(unescaped: PolicyRepository.heldUser("u")) GROUP BY u.id
                """, logger: logger)
            for try await (id, disabled, externalId, groups) in userRows.decode((UUID, Bool, String?, [String]).self) {
                consumers[id] = ConsumerPolicy(userId: id, disabled: disabled, groups: groups, externalId: externalId)
            }
        }
        return .delta(PolicyDelta(version: version, keys: keys, consumers: consumers, structure: structure), changes: changes)
    }

    /// Deletes the changes logged more than `age` ago and records the newest version it deleted: a gateway
    /// whose snapshot is older than that reads the whole policy. Returns how many changes it deleted.
    @discardableResult
    public func prune(olderThan age: Duration, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query(
            """
            WITH cutoff AS (SELECT max(version) AS version FROM policy_changes WHERE at < now() - make_interval(secs => \(age.seconds))),
                 pruned AS (DELETE FROM policy_changes WHERE version <= (SELECT version FROM cutoff) RETURNING version),
                 recorded AS (UPDATE policy_state SET pruned_through = greatest(pruned_through, (SELECT max(version) FROM pruned))
                              WHERE EXISTS (SELECT 1 FROM pruned) RETURNING 1)
            SELECT count(*) FROM pruned
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }
}
