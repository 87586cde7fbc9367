import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The `apis` table.
public struct APIRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let select = """
        SELECT id, name, path_prefix, host, upstream, strip_prefix, status, created_at, updated_at FROM apis
        """

    public func create(_ api: APIDefinition, on connection: PostgresConnection) async throws -> APIDefinition {
        let rows = try await connection.query(
            """
            INSERT INTO apis (name, path_prefix, host, upstream, strip_prefix, status)
            VALUES (\(api.name), \(api.pathPrefix), \(api.host), \(api.upstream), \(api.stripPrefix), \(api.status.rawValue))
            RETURNING id, name, path_prefix, host, upstream, strip_prefix, status, created_at, updated_at
            """, logger: logger)
        guard let created = try await decode(rows).first else { throw PorticoError.conflict("the API was not created") }
        return created
    }

    public func list(on connection: PostgresConnection) async throws -> [APIDefinition] {
        try await decode(connection.query("\(unescaped: Self.select) ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> APIDefinition? {
        try await decode(connection.query("\(unescaped: Self.select) WHERE id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> APIDefinition {
        guard let api = try await find(id, on: connection) else { throw PorticoError.notFound("API \(id)") }
        return api
    }

    public func update(_ api: APIDefinition, on connection: PostgresConnection) async throws -> APIDefinition {
        let rows = try await connection.query(
            """
            UPDATE apis SET name = \(api.name), path_prefix = \(api.pathPrefix), host = \(api.host), upstream = \(api.upstream),
                   strip_prefix = \(api.stripPrefix), status = \(api.status.rawValue), updated_at = now()
            WHERE id = \(api.id)
            RETURNING id, name, path_prefix, host, upstream, strip_prefix, status, created_at, updated_at
            """, logger: logger)
        guard let updated = try await decode(rows).first else { throw PorticoError.notFound("API \(api.id)") }
        return updated
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM apis WHERE id = \(id)", logger: logger)
    }

    /// The ids of the named APIs, in the order given; an unknown name is an `invalid(field)` error.
    public func ids(named names: [String], field: String, on connection: PostgresConnection) async throws -> [UUID] {
        try await connection.ids(named: names, inTable: "apis", kind: "API", field: field, logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIDefinition] {
        var apis: [APIDefinition] = []
        for try await (id, name, prefix, host, upstream, strip, status, createdAt, updatedAt) in rows.decode(
            (UUID, String, String, String?, String, Bool, String, Date, Date).self)
        {
            apis.append(
                APIDefinition(
                    id: id, name: name, pathPrefix: prefix, host: host, upstream: upstream, stripPrefix: strip,
                    status: APIStatus(rawValue: status) ?? .disabled, createdAt: createdAt, updatedAt: updatedAt))
        }
        return apis
    }
}
