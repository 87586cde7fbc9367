import ArgumentParser
import Foundation
import PorticoStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending SQL migrations (sql/NNNN_name.sql) in order.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "List applied and pending migrations; change nothing.")
    var status = false

    @Option(help: "Folder of the migration files (or PORTICO_MIGRATIONS; default ./sql).")
    var migrations: String?

    func run() async throws {
        let logger = logging.logger("portico.migrate")
        let folder = CLI.migrationsFolder(migrations)
        let files: [MigrationFile]
        do { files = try MigrationFile.load(from: folder) } catch { throw CLI.fail(error) }
        let showStatus = status
        try await CLI.withDatabase(database, logger: logger) { database in
            let runner = MigrationRunner(client: database.client, files: files, logger: CLI.quiet(logger))
            if showStatus {
                let status = try await runner.status()
                for applied in status.applied {
                    print("applied  \(applied.name)  \(ISO8601DateFormatter().string(from: applied.appliedAt))")
                }
                for pending in status.pending { print("pending  \(pending)") }
                if status.pending.isEmpty { print("up to date (\(status.applied.count) applied)") }
            } else {
                let applied = try await runner.migrate()
                if applied.isEmpty {
                    print("up to date: no pending migrations")
                } else {
                    for name in applied { print("applied \(name)") }
                }
            }
        }
    }
}
