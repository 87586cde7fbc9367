import Foundation
import Logging
import PorticoCore
import PorticoStore
import PorticoWeb
import PostgresNIO

/// A fresh PostgreSQL database per test, cloned from a template migrated once per test process.
/// `make test` points `PORTICO_TEST_DATABASE_URL` at the project's own cluster (scripts/pg.sh).
public struct TestDatabase: Sendable {
    public let name: String
    public let url: DatabaseURL

    public static let logger: Logger = {
        var logger = Logger(label: "portico.test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        return logger
    }()

    static var adminURLText: String {
        ProcessInfo.processInfo.environment["PORTICO_TEST_DATABASE_URL"]
            ?? "postgres://postgres@127.0.0.1:54329/postgres?sslmode=disable"
    }

    static var prefix: String {
        ProcessInfo.processInfo.environment["PORTICO_TEST_DB_PREFIX"] ?? "portico_t_\(getpid())"
    }

    public static var migrationsFolder: URL {
        if let path = ProcessInfo.processInfo.environment["PORTICO_MIGRATIONS"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sql").standardized
    }

    public static var templatesFolder: URL {
        if let path = ProcessInfo.processInfo.environment["PORTICO_TEMPLATES"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../templates").standardized
    }

    /// The dashboard's templates, loaded once per test run.
    public static func pages() async throws -> PageRenderer {
        try await loadedPages.value
    }

    private static let loadedPages = Task { try await PageRenderer.load(directory: templatesFolder.path) }

    /// A URL like the admin one but for database `name`.
    public static func url(for name: String) throws -> DatabaseURL {
        guard var components = URLComponents(string: adminURLText) else { throw PorticoError.malformed("PORTICO_TEST_DATABASE_URL") }
        components.path = "/" + name
        return try DatabaseURL(components.string ?? "")
    }

    /// An empty database (no schema), for migration tests.
    public static func createEmpty() async throws -> TestDatabase {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin("CREATE DATABASE \"\(name)\"")
        return TestDatabase(name: name, url: try url(for: name))
    }

    /// A migrated database.
    public static func create() async throws -> TestDatabase {
        let template = try await Template.shared.name()
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin("CREATE DATABASE \"\(name)\" TEMPLATE \"\(template)\"")
        return TestDatabase(name: name, url: try url(for: name))
    }

    public func drop() async {
        try? await Self.admin("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
    }

    static func admin(_ sql: String) async throws {
        let url = try DatabaseURL(adminURLText)
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration, id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    actor Template {
        static let shared = Template()
        private var creating: Task<String, any Error>?

        func name() async throws -> String {
            if let creating { return try await creating.value }
            let task = Task<String, any Error> {
                let name = "\(TestDatabase.prefix)_template"
                try await TestDatabase.admin("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
                try await TestDatabase.admin("CREATE DATABASE \"\(name)\"")
                let files = try MigrationFile.load(from: TestDatabase.migrationsFolder)
                try await withClient(try TestDatabase.url(for: name)) { database in
                    _ = try await MigrationRunner(client: database.client, files: files, logger: TestDatabase.logger).migrate()
                }
                return name
            }
            creating = task
            return try await task.value
        }
    }
}

/// Runs `body` with a running client on `url`. Its operations may take 30 s rather than a server's 5: the whole
/// suite runs at once on two cores, and a burst of tests creating databases can hold one up for seconds, which a
/// test of behaviour must not fail on (the database-down tests set their own short deadline).
public func withClient<Result: Sendable>(_ url: DatabaseURL, _ body: (Database) async throws -> Result) async throws -> Result {
    let client = PostgresClient(configuration: url.configuration, backgroundLogger: TestDatabase.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(Database(client: client, logger: TestDatabase.logger, operationTimeout: .seconds(30)))
    }
}

/// A fresh migrated database with a running client, dropped afterwards.
public func withTestDatabase<Result: Sendable>(_ body: (Database, TestDatabase) async throws -> Result) async throws -> Result {
    let database = try await TestDatabase.create()
    do {
        let result = try await withClient(database.url) { try await body($0, database) }
        await database.drop()
        return result
    } catch {
        await database.drop()
        throw error
    }
}
