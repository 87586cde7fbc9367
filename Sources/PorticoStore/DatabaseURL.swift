import Foundation
import Logging
import NIOSSL
import PorticoCore
import PostgresNIO

/// `postgres://user:pass@host:port/db?sslmode=…`, or a Unix socket: `postgres://user@/db?host=/run/postgresql`
/// (the folder holding `.s.PGSQL.<port>`), as libpq accepts them.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let configuration: PostgresClient.Configuration
    /// The same target for a single connection (the CLI's reachability probe).
    public let connectionConfiguration: PostgresConnection.Configuration
    /// The URL with the password masked, for messages and logs.
    public let description: String
    public let databaseName: String
    /// The URL as given, password included: for handing to a child process, never for logs.
    public let connectionString: String

    public init(_ text: String) throws(PorticoError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else { throw .invalid(field: "database-url", reason: "expected postgres://user:password@host:port/database") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let username = components.user.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? username
        let port = components.port ?? query["port"].flatMap(Int.init) ?? 5432
        let socketFolder =
            query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? components.host.flatMap { host in
                let decoded = host.removingPercentEncoding ?? host
                return decoded.hasPrefix("/") ? decoded : nil
            }

        var configuration: PostgresClient.Configuration
        var connectionConfiguration: PostgresConnection.Configuration
        if let socketFolder {
            let socket = "\(socketFolder)/.s.PGSQL.\(port)"
            configuration = .init(unixSocketPath: socket, username: username, password: password, database: database)
            connectionConfiguration = .init(unixSocketPath: socket, username: username, password: password, database: database)
        } else {
            guard let host = components.host ?? query["host"], !host.isEmpty else {
                throw .invalid(field: "database-url", reason: "no host; use postgres://user@host:port/db or ?host=/socket/folder")
            }
            let tls: PostgresClient.Configuration.TLS
            let connectionTLS: PostgresConnection.Configuration.TLS
            let context = try? NIOSSLContext(configuration: .makeClientConfiguration())
            switch query["sslmode"] ?? "prefer" {
            case "disable":
                tls = .disable
                connectionTLS = .disable
            case "prefer", "allow":
                tls = .prefer(.makeClientConfiguration())
                connectionTLS = context.map { .prefer($0) } ?? .disable
            case "require", "verify-ca", "verify-full":
                guard let context else { throw .invalid(field: "database-url", reason: "TLS could not be set up for sslmode=require") }
                tls = .require(.makeClientConfiguration())
                connectionTLS = .require(context)
            case let other:
                throw .invalid(field: "database-url", reason: "unknown sslmode '\(other)'")
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
            connectionConfiguration = .init(host: host, port: port, username: username, password: password, database: database, tls: connectionTLS)
        }
        configuration.options.connectTimeout = .seconds(5)
        connectionConfiguration.options.connectTimeout = .seconds(5)
        self.connectionConfiguration = connectionConfiguration
        self.configuration = configuration
        self.databaseName = database
        self.connectionString = text
        var masked = components
        if masked.password != nil { masked.password = "***" }
        self.description = masked.string ?? "postgres://…"
    }
}

extension DatabaseURL {
    /// Connects once and runs `SELECT 1`, so a wrong URL or a server that is down is one clear sentence
    /// rather than a pool that keeps retrying.
    public func probe(logger: Logger) async throws(PorticoError) {
        do {
            let connection = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: logger)
            do {
                try await connection.query("SELECT 1", logger: logger)
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch let error as PSQLError {
            if let message = error.serverInfo?[.message] {
                throw .unavailable("cannot use the database at \(description): \(message)")
            }
            let cause = error.underlying.map { String(describing: $0) } ?? "\(error.code)"
            throw .unavailable("cannot reach the database at \(description): \(cause)")
        } catch {
            throw .unavailable("cannot reach the database at \(description): \(error)")
        }
    }
}
