import Crypto
import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// One `sql/NNNN_name.sql` file with its checksum.
public struct MigrationFile: Sendable, Equatable {
    public let name: String
    public let sql: String
    public var checksum: String { SHA256.hash(data: Array(sql.utf8)).map { String(format: "%02x", $0) }.joined() }

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// The `NNNN_name.sql` files of a folder, in order.
    public static func load(from folder: URL) throws(MigrationError) -> [MigrationFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw .folderUnreadable(folder.path)
        }
        return try names.filter { $0.hasSuffix(".sql") }.sorted().map { name throws(MigrationError) in
            guard name.prefix(while: { $0.isNumber }).count >= 4 else { throw .badFileName(name) }
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path),
                let sql = String(data: data, encoding: .utf8)
            else { throw .folderUnreadable(folder.appendingPathComponent(name).path) }
            return MigrationFile(name: name, sql: sql)
        }
    }
}

/// Why migrations cannot run: a badly named file, or an applied file that has changed since.
public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case folderUnreadable(String)
    case badFileName(String)
    case checksumChanged(String)
    case unknownApplied(String)
    case failed(file: String, reason: String)

    public var description: String {
        switch self {
        case .folderUnreadable(let path): "cannot read migrations at \(path)"
        case .badFileName(let name): "migration file \(name) must be named NNNN_name.sql"
        case .checksumChanged(let name):
            "migration \(name) was changed after it was applied (checksum differs); restore the original file and add a new migration instead"
        case .unknownApplied(let name): "migration \(name) is applied in the database but missing from the migrations folder"
        case .failed(let file, let reason): "migration \(file) failed: \(reason)"
        }
    }
}

/// Which migrations are applied and which are still to run.
public struct MigrationStatus: Sendable, Equatable {
    public var applied: [(name: String, appliedAt: Date)]
    public var pending: [String]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.applied.map(\.name) == rhs.applied.map(\.name) && lhs.pending == rhs.pending
    }
}

/// Applies `sql/NNNN_name.sql` files in order, each in its own transaction, under an advisory lock so
/// that two migrators at once apply each file exactly once.
public struct MigrationRunner: Sendable {
    /// Arbitrary but fixed: the advisory lock key all Portico migrators agree on.
    static let lockKey: Int64 = 0x504F_5254_4943_4F  // "PORTICO"

    let client: PostgresClient
    let files: [MigrationFile]
    let logger: Logger

    public init(client: PostgresClient, files: [MigrationFile], logger: Logger) {
        self.client = client
        self.files = files
        self.logger = logger
    }

    /// Applies what is pending and returns the names applied (empty when up to date).
    public func migrate() async throws -> [String] {
        try await Database.translatingErrors {
            try await client.withConnection { connection in
                // The lock comes first: even CREATE TABLE IF NOT EXISTS races between two sessions.
                try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
                do {
                    try await ensureTable(connection)
                    let applied = try await appliedChecksums(connection)
                    try verify(applied: applied)
                    var done: [String] = []
                    for file in files where applied[file.name] == nil {
                        try await apply(file, on: connection)
                        done.append(file.name)
                    }
                    try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    return done
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Which migration files are applied and which are still to run.
    public func status() async throws -> MigrationStatus {
        try await Database.translatingErrors {
            try await client.withConnection { connection in
                let exists =
                    try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
                    .decode(Bool.self).first { _ in true } ?? false
                guard exists else { return MigrationStatus(applied: [], pending: files.map(\.name)) }
                let rows = try await connection.query(
                    "SELECT file_name, checksum, applied_at FROM schema_migrations ORDER BY file_name", logger: logger)
                var applied: [(name: String, appliedAt: Date)] = []
                var checksums: [String: String] = [:]
                for try await (name, checksum, at) in rows.decode((String, String, Date).self) {
                    applied.append((name, at))
                    checksums[name] = checksum
                }
                try verify(applied: checksums)
                return MigrationStatus(applied: applied, pending: files.map(\.name).filter { checksums[$0] == nil })
            }
        }
    }

    private func ensureTable(_ connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                file_name text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
    }

    private func appliedChecksums(_ connection: PostgresConnection) async throws -> [String: String] {
        let rows = try await connection.query("SELECT file_name, checksum FROM schema_migrations", logger: logger)
        var applied: [String: String] = [:]
        for try await (name, checksum) in rows.decode((String, String).self) { applied[name] = checksum }
        return applied
    }

    /// A changed applied file stops everything: nothing after it may run on a schema it did not expect.
    private func verify(applied: [String: String]) throws(MigrationError) {
        let known = Dictionary(files.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for file in files {
            if let checksum = applied[file.name], checksum != file.checksum { throw .checksumChanged(file.name) }
        }
        if let unknown = applied.keys.sorted().first(where: { known[$0] == nil }) { throw .unknownApplied(unknown) }
    }

    private func apply(_ file: MigrationFile, on connection: PostgresConnection) async throws {
        logger.info("applying migration", metadata: ["file": "\(file.name)"])
        do {
            try await connection.inTransaction(logger: logger) {
                for statement in SQLScript.statements(in: file.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (file_name, checksum) VALUES (\(file.name), \(file.checksum))", logger: logger)
            }
        } catch let error as PSQLError {
            throw MigrationError.failed(file: file.name, reason: error.serverInfo?[.message] ?? "\(error.code)")
        }
    }
}
