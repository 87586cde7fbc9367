import ArgumentParser
import Foundation
import Logging
import PorticoCore
import PorticoRuntime
import PorticoStore
import PostgresNIO

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/database (or DATABASE_URL).")
    var databaseURL: String?

    func url() throws -> DatabaseURL {
        guard let text = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else {
            throw CLIFailure("no database: pass --database-url or set DATABASE_URL")
        }
        do {
            return try DatabaseURL(text)
        } catch {
            throw CLIFailure("invalid database URL: \(error.message)")
        }
    }
}

extension DatabaseOptions {
    /// The URL, checked by connecting once; any failure is the CLI's one-line error.
    func reachableURL(logger: Logger) async throws -> DatabaseURL {
        do {
            let url = try url()
            try await url.probe(logger: logger)
            return url
        } catch {
            throw CLI.fail(error)
        }
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (or LOG_LEVEL).")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text, or json: one JSON object per line (or LOG_FORMAT).")
    var logFormat: LogFormat?

    func validate() throws {
        if logFormat == nil, let text = ProcessInfo.processInfo.environment["LOG_FORMAT"], LogFormat(rawValue: text) == nil {
            throw ValidationError("LOG_FORMAT must be text or json, not '\(text)'")
        }
    }

    /// Logging goes one way per process: the first logger made chooses it.
    private static let jsonLogging: Void = LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }

    func logger(_ label: String) -> Logger {
        let format = logFormat ?? ProcessInfo.processInfo.environment["LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text
        if format == .json { Self.jsonLogging }
        var logger = Logger(label: label)
        let level = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}

/// A failure the CLI reports as one line on stderr with exit code 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum CLI {
    /// Runs `body` with a connected client, turning every failure into one line and a non-zero exit.
    static func withDatabase<Result: Sendable>(
        _ options: DatabaseOptions, logger: Logger, _ body: @Sendable (Database) async throws -> Result
    ) async throws -> Result {
        let url = try await options.reachableURL(logger: logger)
        do {
            let client = PostgresClient(configuration: url.configuration, backgroundLogger: quiet(logger))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(Database(client: client, logger: logger))
            }
        } catch {
            throw fail(error)
        }
    }

    static func fail(_ error: any Error) -> ExitCode {
        let message: String =
            switch error {
            case let error as PorticoError: error.message
            case let error as MigrationError: error.description
            case let error as CLIFailure: error.description
            case let error as PSQLError: error.serverInfo?[.message] ?? "database error: \(error.code)"
            default: String(describing: error)
            }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode.failure
    }

    /// The pool logs connection retries at debug; keep them out of an operator's terminal.
    static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        logger.logLevel = max(logger.logLevel, .error)
        return logger
    }

    static func migrationsFolder(_ path: String?) -> URL {
        URL(fileURLWithPath: path ?? ProcessInfo.processInfo.environment["PORTICO_MIGRATIONS"] ?? "sql")
    }
}
