import Foundation
import NIOSSL
import PorticoCore
import PostgresNIO

/// `postgres://user:pass@host:port/db?sslmode=…`, or a Unix socket: `postgres://user@/db?host=/run/postgresql`
/// (the folder holding `.s.PGSQL.<port>`), as libpq accepts them.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let configuration: PostgresClient.Configuration
    /// The URL with the password masked, for messages and logs.
    public let description: String
    public let databaseName: String

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
        let socketFolder = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? components.host.flatMap { host in
                let decoded = host.removingPercentEncoding ?? host
                return decoded.hasPrefix("/") ? decoded : nil
            }

        var configuration: PostgresClient.Configuration
        if let socketFolder {
            configuration = .init(
                unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            guard let host = components.host ?? query["host"], !host.isEmpty else {
                throw .invalid(field: "database-url", reason: "no host; use postgres://user@host:port/db or ?host=/socket/folder")
            }
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
            case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            case let other:
                throw .invalid(field: "database-url", reason: "unknown sslmode '\(other)'")
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        self.databaseName = database
        var masked = components
        if masked.password != nil { masked.password = "***" }
        self.description = masked.string ?? "postgres://…"
    }
}
