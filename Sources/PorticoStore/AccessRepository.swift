import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// An APIAccess grant as it is written: names already resolved to ids.
public struct AccessRecord: Sendable {
    public var name: String
    public var groupIds: [UUID]
    /// nil means every API.
    public var apiIds: [UUID]?
    public var rateLimit: RateLimit?
    public var planId: UUID?
    public var operationFilter: OperationFilter?

    public init(
        name: String, groupIds: [UUID], apiIds: [UUID]?, rateLimit: RateLimit?, planId: UUID? = nil, operationFilter: OperationFilter? = nil
    ) {
        self.operationFilter = operationFilter
        self.name = name
        self.groupIds = groupIds
        self.apiIds = apiIds
        self.rateLimit = rateLimit
        self.planId = planId
    }
}

/// Access grants (`api_access`) with the groups and APIs each one names.
public struct AccessRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let select = """
        SELECT a.id, a.name, a.all_apis, a.rate_limit, a.rate_period_seconds, a.created_at, a.updated_at, a.operation_filter::text,
               (SELECT p.name FROM plans p WHERE p.id = a.plan_id),
               coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM api_access_groups ag JOIN groups g ON g.id = ag.group_id
                         WHERE ag.access_id = a.id), '{}'),
               coalesce((SELECT array_agg(p.name ORDER BY p.name) FROM api_access_apis aa JOIN apis p ON p.id = aa.api_id
                         WHERE aa.access_id = a.id), '{}')
        FROM api_access a
        """

    public func create(_ record: AccessRecord, on connection: PostgresConnection) async throws -> APIAccess {
        let rows = try await connection.query(
            """
            INSERT INTO api_access (name, all_apis, rate_limit, rate_period_seconds, plan_id, operation_filter)
            VALUES (\(record.name), \(record.apiIds == nil), \(record.rateLimit?.limit), \(record.rateLimit?.periodSeconds), \(record.planId),
                    \(try Self.json(record.operationFilter))::jsonb)
            RETURNING id
            """, logger: logger)
        guard let id = try await rows.decode(UUID.self).first(where: { _ in true }) else {
            throw PorticoError.conflict("the access grant was not created")
        }
        try await writeLinks(record, id: id, on: connection)
        return try await require(id, on: connection)
    }

    public func update(_ id: UUID, to record: AccessRecord, on connection: PostgresConnection) async throws -> APIAccess {
        try await connection.query(
            """
            UPDATE api_access SET name = \(record.name), all_apis = \(record.apiIds == nil), rate_limit = \(record.rateLimit?.limit),
                   rate_period_seconds = \(record.rateLimit?.periodSeconds), plan_id = \(record.planId),
                   operation_filter = \(try Self.json(record.operationFilter))::jsonb, updated_at = now()
            WHERE id = \(id)
            """, logger: logger)
        try await connection.query("DELETE FROM api_access_groups WHERE access_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM api_access_apis WHERE access_id = \(id)", logger: logger)
        try await writeLinks(record, id: id, on: connection)
        return try await require(id, on: connection)
    }

    private func writeLinks(_ record: AccessRecord, id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO api_access_groups (access_id, group_id) SELECT \(id), unnest(\(record.groupIds)::uuid[])
            """, logger: logger)
        if let apiIds = record.apiIds {
            try await connection.query(
                """
                INSERT INTO api_access_apis (access_id, api_id) SELECT \(id), unnest(\(apiIds)::uuid[])
                """, logger: logger)
        }
    }

    public func list(on connection: PostgresConnection) async throws -> [APIAccess] {
        try await decode(connection.query("\(unescaped: Self.select) ORDER BY a.name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> APIAccess? {
        try await decode(connection.query("\(unescaped: Self.select) WHERE a.id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> APIAccess {
        guard let access = try await find(id, on: connection) else { throw PorticoError.notFound("access \(id)") }
        return access
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM api_access WHERE id = \(id)", logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIAccess] {
        var result: [APIAccess] = []
        for try await (id, name, allApis, limit, period, createdAt, updatedAt, filter, plan, groups, apis) in rows.decode(
            (UUID, String, Bool, Int?, Int?, Date, Date, String?, String?, [String], [String]).self)
        {
            result.append(
                APIAccess(
                    id: id, name: name, groups: groups, apis: allApis ? nil : apis, allApis: allApis, plan: plan,
                    rateLimit: RateLimit.stored(limit, period).map(RateLimitView.init),
                    operationFilter: try filter.map { try JSONDecoder().decode(OperationFilter.self, from: Data($0.utf8)) },
                    createdAt: createdAt, updatedAt: updatedAt))
        }
        return result
    }

    private static func json(_ filter: OperationFilter?) throws -> String? {
        try filter.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
    }
}
