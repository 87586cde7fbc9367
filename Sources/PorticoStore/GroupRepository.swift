import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Groups and memberships.
public struct GroupRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let select = """
        SELECT g.id, g.name, (SELECT count(*) FROM memberships m WHERE m.group_id = g.id)::int, g.created_at FROM groups g
        """

    public func create(name: String, on connection: PostgresConnection) async throws -> Group {
        let rows = try await connection.query("INSERT INTO groups (name) VALUES (\(name)) RETURNING id, created_at", logger: logger)
        for try await (id, createdAt) in rows.decode((UUID, Date).self) {
            return Group(id: id, name: name, memberCount: 0, createdAt: createdAt)
        }
        throw PorticoError.conflict("the group was not created")
    }

    public func list(on connection: PostgresConnection) async throws -> [Group] {
        try await fetch("\(unescaped: Self.select) ORDER BY g.name", on: connection)
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> Group? {
        try await fetch("\(unescaped: Self.select) WHERE g.id = \(id)", on: connection).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> Group {
        guard let group = try await find(id, on: connection) else { throw PorticoError.notFound("group \(id)") }
        return group
    }

    /// The ids of the named groups, in the order given; an unknown name is an `invalid(field)` error.
    public func ids(named names: [String], field: String, on connection: PostgresConnection) async throws -> [UUID] {
        try await connection.ids(named: names, inTable: "groups", kind: "group", field: field, logger: logger)
    }

    /// The ids of these groups, each created when it does not exist yet.
    public func ensure(named names: [String], on connection: PostgresConnection) async throws -> [UUID] {
        guard !names.isEmpty else { return [] }
        try await connection.query("INSERT INTO groups (name) SELECT unnest(\(names)::text[]) ON CONFLICT (name) DO NOTHING", logger: logger)
        return try await ids(named: names, field: "groups", on: connection)
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM groups WHERE id = \(id)", logger: logger)
    }

    /// Adds the membership; returns false when it already existed.
    public func addMember(_ userId: UUID, to groupId: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            INSERT INTO memberships (user_id, group_id) VALUES (\(userId), \(groupId)) ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.decode(Int.self).first { _ in true } != nil
    }

    /// Removes the membership; returns false when there was none.
    public func removeMember(_ userId: UUID, from groupId: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            DELETE FROM memberships WHERE user_id = \(userId) AND group_id = \(groupId) RETURNING 1
            """, logger: logger)
        return try await rows.decode(Int.self).first { _ in true } != nil
    }

    /// The ids of every member of the group.
    public func members(of groupId: UUID, on connection: PostgresConnection) async throws -> [UUID] {
        let rows = try await connection.query("SELECT user_id FROM memberships WHERE group_id = \(groupId)", logger: logger)
        return try await rows.decode(UUID.self).reduce(into: []) { $0.append($1) }
    }

    private func fetch(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [Group] {
        let rows = try await connection.query(query, logger: logger)
        var groups: [Group] = []
        for try await (id, name, count, createdAt) in rows.decode((UUID, String, Int, Date).self) {
            groups.append(Group(id: id, name: name, memberCount: count, createdAt: createdAt))
        }
        return groups
    }
}
