import Foundation
import PorticoStore
import PorticoTestSupport
import PostgresNIO
import Testing

@Suite struct MigrationTests {
    func withEmptyDatabase(_ body: (Database) async throws -> Void) async throws {
        let database = try await TestDatabase.createEmpty()
        do {
            try await withClient(database.url, body)
            await database.drop()
        } catch {
            await database.drop()
            throw error
        }
    }

    var projectFiles: [MigrationFile] { get throws { try MigrationFile.load(from: TestDatabase.migrationsFolder) } }

    func tables(_ database: Database) async throws -> Set<String> {
        try await database.read { connection in
            let rows = try await connection.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", logger: database.logger)
            return try await rows.decode(String.self).reduce(into: Set<String>()) { $0.insert($1) }
        }
    }

    @Test func aFreshDatabaseGetsTheWholeModel() async throws {
        try await withEmptyDatabase { database in
            let runner = MigrationRunner(client: database.client, files: try projectFiles, logger: database.logger)
            let applied = try await runner.migrate()
            #expect(applied == (try projectFiles).map(\.name))
            #expect(applied.first == "0001_initial.sql")
            let tables = try await tables(database)
            for table in [
                "users", "groups", "memberships", "apis", "api_access", "api_access_groups", "api_access_apis",
                "api_keys", "admin_tokens", "auth_settings", "audit_log", "policy_state", "schema_migrations",
            ] {
                #expect(tables.contains(table), "missing \(table)")
            }
            let mode = try await database.read { try await PolicyRepository(logger: database.logger).authMode(on: $0) }
            #expect(mode == .apiKey)
        }
    }

    @Test func aSecondRunIsUpToDate() async throws {
        try await withEmptyDatabase { database in
            let runner = MigrationRunner(client: database.client, files: try projectFiles, logger: database.logger)
            _ = try await runner.migrate()
            let again = try await runner.migrate()
            #expect(again == [])
            let status = try await runner.status()
            #expect(status.applied.map(\.name) == (try projectFiles).map(\.name))
            #expect(status.pending.isEmpty)
        }
    }

    @Test func statusListsPendingFiles() async throws {
        try await withEmptyDatabase { database in
            let project = try projectFiles
            let files = project + [MigrationFile(name: "9001_extra.sql", sql: "CREATE TABLE extra (id int);")]
            _ = try await MigrationRunner(client: database.client, files: project, logger: database.logger).migrate()
            let status = try await MigrationRunner(client: database.client, files: files, logger: database.logger).status()
            #expect(status.pending == ["9001_extra.sql"])
        }
    }

    @Test func aChangedAppliedFileIsRefusedAndNothingAfterItRuns() async throws {
        try await withEmptyDatabase { database in
            let first = MigrationFile(name: "0001_a.sql", sql: "CREATE TABLE a (id int);")
            _ = try await MigrationRunner(client: database.client, files: [first], logger: database.logger).migrate()
            let changed = MigrationFile(name: "0001_a.sql", sql: "CREATE TABLE a (id bigint);")
            let next = MigrationFile(name: "0002_b.sql", sql: "CREATE TABLE b (id int);")
            let runner = MigrationRunner(client: database.client, files: [changed, next], logger: database.logger)
            await #expect(throws: MigrationError.checksumChanged("0001_a.sql")) { try await runner.migrate() }
            let created = try await tables(database)
            #expect(!created.contains("b"))
        }
    }

    @Test func aFailingFileIsRolledBackWhole() async throws {
        try await withEmptyDatabase { database in
            let bad = MigrationFile(name: "0001_bad.sql", sql: "CREATE TABLE ok (id int); CREATE TABLE broken (id nosuchtype);")
            let runner = MigrationRunner(client: database.client, files: [bad], logger: database.logger)
            await #expect(throws: MigrationError.self) { try await runner.migrate() }
            let created = try await tables(database)
            #expect(!created.contains("ok"))
            let pending = try await runner.status().pending
            #expect(pending == ["0001_bad.sql"])
        }
    }

    @Test func twoMigratorsAtOnceApplyEachFileOnce() async throws {
        try await withEmptyDatabase { database in
            let files = try projectFiles
            // A slow second file widens the window in which the two runners overlap.
            let all = files + [MigrationFile(name: "9001_slow.sql", sql: "SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")]
            async let first = MigrationRunner(client: database.client, files: all, logger: database.logger).migrate()
            async let second = MigrationRunner(client: database.client, files: all, logger: database.logger).migrate()
            let (a, b) = try await (first, second)
            #expect((a + b).sorted() == all.map(\.name))
            let count = try await database.read { connection in
                try await connection.query("SELECT count(*) FROM schema_migrations", logger: database.logger)
                    .decode(Int.self).reduce(0) { $0 + $1 }
            }
            #expect(count == all.count)
        }
    }
}

extension MigrationTests {
    /// Migration 0018 on a database that already has keys: each user's keys move to a `default` application, with
    /// their usage records kept, and a key inserted without an application later still gets one.
    @Test func existingKeysMoveToADefaultApplication() async throws {
        try await withEmptyDatabase { database in
            let files = try projectFiles
            let before = files.filter { $0.name < "0018" }
            _ = try await MigrationRunner(client: database.client, files: before, logger: database.logger).migrate()
            try await database.read { connection in
                try await connection.query(
                    """
                    INSERT INTO users (email, name) VALUES ('a@example.com', 'A'), ('b@example.com', 'B');
                    """, logger: database.logger)
                try await connection.query(
                    """
                    INSERT INTO api_keys (user_id, name, prefix, secret_hash)
                    SELECT id, 'k' || n, 'pk_x', sha256((email || n)::bytea) FROM users, generate_series(1, 2) n
                    """, logger: database.logger)
                try await connection.query(
                    """
                    INSERT INTO usage_hourly (consumer_id, api_id, hour, requests_2xx, latency)
                    SELECT id, gen_random_uuid(), date_trunc('hour', now()), 5, '{}' FROM users WHERE email = 'a@example.com'
                    """, logger: database.logger)
            }
            _ = try await MigrationRunner(client: database.client, files: files, logger: database.logger).migrate()
            let moved = try await database.read { connection in
                try await connection.query(
                    """
                    SELECT u.email, a.name, count(*)::int FROM api_keys k JOIN applications a ON a.id = k.application_id
                    JOIN users u ON u.id = k.user_id AND u.id = a.user_id GROUP BY 1, 2 ORDER BY 1
                    """, logger: database.logger
                ).decode((String, String, Int).self).reduce(into: [String]()) { $0.append("\($1.0) \($1.1) \($1.2)") }
            }
            #expect(moved == ["a@example.com default 2", "b@example.com default 2"])
            let kept = try await database.read { connection in
                try await connection.query("SELECT sum(requests_2xx)::int FROM usage_hourly", logger: database.logger).decode(Int.self)
                    .reduce(0) { $0 + $1 }
            }
            #expect(kept == 5)
            // A key inserted later without an application (a script, say) goes to its owner's default one.
            let later = try await database.read { connection in
                try await connection.query(
                    """
                    INSERT INTO users (email, name) VALUES ('c@example.com', 'C');
                    """, logger: database.logger)
                try await connection.query(
                    """
                    INSERT INTO api_keys (user_id, name, prefix, secret_hash)
                    SELECT id, 'k', 'pk_y', sha256('c'::bytea) FROM users WHERE email = 'c@example.com'
                    """, logger: database.logger)
                return try await connection.query(
                    """
                    SELECT a.name FROM api_keys k JOIN applications a ON a.id = k.application_id WHERE k.prefix = 'pk_y'
                    """, logger: database.logger
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(later == ["default"])
        }
    }
}
