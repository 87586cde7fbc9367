import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import PostgresNIO
import ServiceLifecycle
import Testing

@Suite struct PolicyChangeLogTests {
    /// The changes logged under the newest version, or nothing when the last action moved no version.
    func lastChanges(_ portico: TestPortico, after version: Int64) async throws -> Set<String> {
        try await portico.database.read { connection in
            let rows = try await connection.query(
                "SELECT kind, ref FROM policy_changes WHERE version > \(version) ORDER BY kind, ref", logger: portico.database.logger)
            var changes: Set<String> = []
            for try await (kind, ref) in rows.decode((String, String).self) { changes.insert("\(kind) \(ref)") }
            return changes
        }
    }

    /// An id as PostgreSQL writes it.
    func ref(_ id: UUID) -> String { id.uuidString.lowercased() }

    func version(_ portico: TestPortico) async throws -> Int64 {
        try await portico.database.read { try await PolicyRepository(logger: portico.database.logger).currentVersion(on: $0) }
    }

    /// Runs `action` and returns what it logged, checking that it took exactly one version (or none).
    func logged(_ portico: TestPortico, _ action: () async throws -> Void) async throws -> Set<String> {
        let before = try await version(portico)
        try await action()
        let after = try await version(portico)
        #expect(after - before <= 1, "one transaction, one version")
        return try await lastChanges(portico, after: before)
    }

    @Test func eachKindOfAdminWriteLogsWhatItChangedInItsOwnTransaction() async throws {
        try await withTestPortico { portico in
            let users = UserService(store: portico.store)
            let groups = GroupService(store: portico.store)
            let keys = KeyService(store: portico.store)
            var group: Group?
            let groupChanges = try await logged(portico) { group = try await groups.create(name: "gold", by: portico.actor) }
            #expect(groupChanges == ["group \(ref(try #require(group).id))"])

            // A new enabled user changes no decision until it has a membership or a key.
            var user: User?
            #expect(
                try await logged(portico) { user = try await users.create(UserInput(email: "c@example.com", groups: ["gold"]), by: portico.actor) }
                    == ["user \(ref(try #require(user).id))"])
            let userId = try #require(user).id
            #expect(try await logged(portico) { _ = try await users.create(UserInput(email: "d@example.com"), by: portico.actor) } == [])

            var issued: IssuedKey?
            let created = try await logged(portico) { issued = try await keys.create(for: userId, name: "k", expiresAt: nil, by: portico.actor) }
            let keyRef = "key \(SecretHash(of: try #require(issued).key).hex)"
            #expect(created == [keyRef])
            #expect(try await logged(portico) { _ = try await keys.revoke(try #require(issued).id, by: portico.actor) } == [keyRef])

            #expect(
                try await logged(portico) { _ = try await users.update(userId, UserPatch(disabled: true), by: portico.actor) } == [
                    "user \(ref(userId))"
                ])
            #expect(try await logged(portico) { _ = try await users.update(userId, UserPatch(name: "Carla"), by: portico.actor) } == [])
            let silver = try await groups.create(name: "silver", by: portico.actor)
            #expect(try await logged(portico) { try await groups.addMember(userId, to: silver.id, by: portico.actor) } == ["user \(ref(userId))"])
            #expect(
                try await logged(portico) { try await groups.removeMember(userId, from: silver.id, by: portico.actor) } == ["user \(ref(userId))"])

            var api: APIDefinition?
            #expect(
                try await logged(portico) { api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 1) } == [
                    "api \(ref(try #require(api).id))"
                ])
            var access: APIAccess?
            #expect(
                try await logged(portico) { access = try await portico.grant("gold-orders", groups: ["gold"], limit: 5) } == [
                    "grant \(ref(try #require(access).id))"
                ])
            #expect(
                try await logged(portico) {
                    _ = try await AccessService(store: portico.store).update(
                        try #require(access).id, AccessPatch(rateLimit: .some(RateLimitInput(limit: 9, period: "1m"))), by: portico.actor)
                } == ["grant \(ref(try #require(access).id))"])

            // Deleting a user takes its keys and memberships with it, in the same version.
            let (doomed, doomedKey) = try await portico.seedConsumer(groups: ["gold"])
            #expect(
                try await logged(portico) { try await users.delete(doomed.id, by: portico.actor) }
                    == ["user \(ref(doomed.id))", "key \(SecretHash(of: doomedKey).hex)"])

            // What the gateway writes back (key use, token users seen) changes nothing it enforces.
            let (used, usedKey) = try await portico.seedConsumer(groups: ["gold"])
            let usedKeyId = try #require(try await keys.list(for: used.id).first).id
            #expect(
                try await logged(portico) {
                    try await portico.database.transaction { connection in
                        try await KeyRepository(table: .apiKeys, logger: portico.database.logger).markUsed(
                            [usedKeyId], at: Date(), on: connection)
                        _ = try await UserRepository(logger: portico.database.logger).recordSightings(
                            [UserSighting(externalId: "token-user", email: "t@example.com", tokenName: nil, seenAt: Date())], on: connection)
                    }
                } == [])

            let switched = try await logged(portico) { try await portico.useJWT(["signingSecret": String(repeating: "m", count: 32)]) }
            #expect(switched.contains("auth "))
            #expect(switched.contains("key \(SecretHash(of: usedKey).hex)"))
        }
    }

    @Test func aStatementChangingTooManyRowsLogsOneWholePolicyChange() async throws {
        try await withTestPortico { portico in
            let before = try await version(portico)
            try await portico.database.transaction { connection in
                _ = try await connection.query(
                    "INSERT INTO users (email, disabled) SELECT 'bulk' || i || '@example.com', true FROM generate_series(1, 10001) AS i",
                    logger: portico.database.logger)
            }
            #expect(try await lastChanges(portico, after: before) == ["policy "])
            let holder = PolicyHolder()
            let feed = PolicyFeed(database: portico.database, holder: holder)
            #expect(await feed.reload())
            #expect(holder.snapshot.consumerCount == 10_001, "the disabled users; the admin neither is disabled nor owns a key")
        }
    }

    @Test func aGatewayThatMissedChangesCatchesUpExactlyFromTheLog() async throws {
        try await withTestPortico { portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 1)
            let (user, key) = try await portico.seedConsumer(groups: ["gold"])
            let recorder = LogRecorder()
            let logged = Database(client: portico.database.client, logger: recorder.logger())
            let holder = PolicyHolder()
            let feed = PolicyFeed(database: logged, holder: holder)
            #expect(await feed.reload())
            #expect(holder.snapshot.authenticate(apiKey: key, nowMillis: 0) != .rejected("the API key is unknown or revoked"))

            // Stopped while these happen: a new consumer, a revoked key, a disabled user, a new grant.
            let (_, newKey) = try await portico.seedConsumer(groups: ["silver"])
            let keys = try await KeyService(store: portico.store).list(for: user.id)
            _ = try await KeyService(store: portico.store).revoke(try #require(keys.first).id, by: portico.actor)
            let (other, otherKey) = try await portico.seedConsumer(groups: ["gold"])
            _ = try await UserService(store: portico.store).update(other.id, UserPatch(disabled: true), by: portico.actor)
            try await portico.grant("silver-all", groups: ["silver"])

            #expect(await feed.reload())
            #expect(recorder.recorded.contains("policy updated"))
            #expect(!recorder.recorded.contains { $0.hasPrefix("policy change log not applicable") })
            let snapshot = holder.snapshot
            #expect(snapshot.version == (try await version(portico)))
            #expect(snapshot.authenticate(apiKey: key, nowMillis: 0) == .rejected("the API key is unknown or revoked"))
            #expect(snapshot.authenticate(apiKey: otherKey, nowMillis: 0) == .rejected("the API key's user is disabled"))
            guard case .accepted(let consumer, _) = snapshot.authenticate(apiKey: newKey, nowMillis: 0) else {
                Issue.record("the new key is not admitted")
                return
            }
            let api = try #require(snapshot.routes.match(path: "/orders", host: String?.none))
            #expect(snapshot.access(groups: consumer.groups, api: api.id) == .unlimited)
            let full = try await PolicyRepository(logger: portico.database.logger).loadSnapshot(from: portico.database)
            #expect(snapshot.hasSameContents(as: full))
        }
    }

    @Test func aPrunedLogLeadsToAFullLoad() async throws {
        try await withTestPortico { portico in
            let recorder = LogRecorder()
            let holder = PolicyHolder()
            let feed = PolicyFeed(database: Database(client: portico.database.client, logger: recorder.logger()), holder: holder)
            #expect(await feed.reload())
            let (_, key) = try await portico.seedConsumer(groups: ["gold"])
            let pruned = try await portico.database.transaction {
                try await PolicyChangeLog(logger: portico.database.logger).prune(olderThan: .zero, on: $0)
            }
            #expect(pruned > 0)

            #expect(await feed.reload())
            #expect(recorder.recorded.contains("policy change log not applicable; reading the whole policy"))
            #expect(holder.snapshot.version == (try await version(portico)))
            #expect(holder.snapshot.authenticate(apiKey: key, nowMillis: 0) != .rejected("the API key is unknown or revoked"))
            // Changes after the pruning are applied from the log again.
            _ = try await portico.seedConsumer(groups: ["gold"])
            #expect(await feed.reload())
            #expect(recorder.recorded.last == "policy updated")
        }
    }

    @Test func twoFeedsConvergeOnTheSameSnapshotAfterABurstOfAThousandMixedChanges() async throws {
        try await withTestPortico { portico in
            for name in ["orders", "billing"] { try await portico.createAPI(name, prefix: "/\(name)", upstreamPort: 1) }
            try await portico.ensureGroups(["g0", "g1", "g2", "g3"])
            let recorder = LogRecorder()
            let logged = Database(client: portico.database.client, logger: recorder.logger())
            let first = PolicyHolder()
            let second = PolicyHolder()
            let feeds: [any Service] = [
                PolicyFeed(database: logged, holder: first, pollInterval: .seconds(60)),
                PolicyFeed(database: logged, holder: second, pollInterval: .seconds(60)),
            ]
            let groups = try await GroupService(store: portico.store).list()
            try await withServices(feeds) {
                // The first loads are not what this test is about: at the start of a loaded suite they took over 5 s.
                try await waitUntil(timeout: .seconds(30)) { first.isLoaded && second.isLoaded }
                // Four writers at once, each making 250 changes of every kind the gateway enforces.
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    for writer in 0..<4 {
                        tasks.addTask {
                            try await Self.mixedChanges(writer: writer, count: 250, groups: groups, portico: portico)
                        }
                    }
                    try await tasks.waitForAll()
                }
                let target = try await version(portico)
                try await waitUntil(timeout: .seconds(30)) { first.snapshot.version == target && second.snapshot.version == target }
            }
            let full = try await PolicyRepository(logger: portico.database.logger).loadSnapshot(from: portico.database)
            #expect(full.version == first.snapshot.version)
            #expect(first.snapshot.hasSameContents(as: full))
            #expect(second.snapshot.hasSameContents(as: full))
            #expect(full.keyCount > 100)
            #expect(!recorder.recorded.contains { $0.hasPrefix("policy change log not applicable") })
        }
    }

    /// `count` admin writes cycling through new consumers, new and revoked keys, disabled and enabled users,
    /// added and removed members, new and changed grants.
    static func mixedChanges(writer: Int, count: Int, groups: [Group], portico: TestPortico) async throws {
        let users = UserService(store: portico.store)
        let keys = KeyService(store: portico.store)
        let groupService = GroupService(store: portico.store)
        let access = AccessService(store: portico.store)
        var mine: [(user: User, keyIds: [UUID])] = []
        var grants: [APIAccess] = []
        for step in 0..<count {
            let group = groups[step % groups.count]
            switch step % 8 {
            case 0:
                let user = try await users.create(UserInput(email: "w\(writer)-\(step)@example.com", groups: [group.name]), by: portico.actor)
                let key = try await keys.create(for: user.id, name: "k", expiresAt: nil, by: portico.actor)
                mine.append((user, [key.id]))
            case 1:
                let owner = mine[step % mine.count]
                let key = try await keys.create(for: owner.user.id, name: "k\(step)", expiresAt: nil, by: portico.actor)
                mine[step % mine.count].keyIds.append(key.id)
            case 2:
                let owner = mine[(step / 8) % mine.count]
                // Revoking a revoked key is refused; the first revocation is the change.
                if let keyId = owner.keyIds.first { _ = try? await keys.revoke(keyId, by: portico.actor) }
            case 3: _ = try await users.update(mine[step % mine.count].user.id, UserPatch(disabled: true), by: portico.actor)
            case 4: _ = try await users.update(mine[(step / 2) % mine.count].user.id, UserPatch(disabled: false), by: portico.actor)
            case 5: try await groupService.addMember(mine[step % mine.count].user.id, to: groups[(step + 1) % groups.count].id, by: portico.actor)
            case 6: try? await groupService.removeMember(mine[step % mine.count].user.id, from: group.id, by: portico.actor)
            default:
                if grants.count < 3 {
                    grants.append(
                        try await access.create(AccessInput(name: "w\(writer)-\(step)", groups: [group.name], allApis: true), by: portico.actor))
                } else {
                    let grant = grants[step % grants.count]
                    _ = try await access.update(
                        grant.id, AccessPatch(rateLimit: .some(RateLimitInput(limit: step + 1, period: "1m"))), by: portico.actor)
                }
            }
        }
    }
}
