import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// A plan as it is written: checked already.
public struct PlanRecord: Sendable {
    public var name: String
    public var description: String
    public var rateLimit: RateLimit?
    public var quota: Quota?
    public var bucket: PlanBucket

    public init(name: String, description: String, rateLimit: RateLimit?, quota: Quota?, bucket: PlanBucket) {
        self.name = name
        self.description = description
        self.rateLimit = rateLimit
        self.quota = quota
        self.bucket = bucket
    }

    /// A plan's columns as the policy compiler takes them.
    static func compiled(
        id: UUID, name: String, rateLimit: Int?, ratePeriod: Int?, quotaLimit: Int?, quotaPeriod: String?, bucket: String?
    ) -> CompiledPlan {
        CompiledPlan(
            id: id, name: name, rateLimit: RateLimit.stored(rateLimit, ratePeriod), quota: Quota.stored(quotaLimit, quotaPeriod),
            bucket: bucket.flatMap(PlanBucket.init(rawValue:)) ?? .consumerAPI)
    }
}

/// Plans (`plans`), each with the grants that use it.
public struct PlanRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let select = """
        SELECT p.id, p.name, p.description, p.rate_limit, p.rate_period_seconds, p.quota_limit, p.quota_period, p.bucket,
               coalesce((SELECT array_agg(a.name ORDER BY a.name) FROM api_access a WHERE a.plan_id = p.id), '{}'),
               p.created_at, p.updated_at
        FROM plans p
        """

    public func create(_ record: PlanRecord, on connection: PostgresConnection) async throws -> Plan {
        let rows = try await connection.query(
            """
            INSERT INTO plans (name, description, rate_limit, rate_period_seconds, quota_limit, quota_period, bucket)
            VALUES (\(record.name), \(record.description), \(record.rateLimit?.limit), \(record.rateLimit?.periodSeconds),
                    \(record.quota.map { Int64($0.limit) }), \(record.quota?.period.rawValue), \(record.bucket.rawValue))
            RETURNING id
            """, logger: logger)
        guard let id = try await rows.decode(UUID.self).first(where: { _ in true }) else {
            throw PorticoError.conflict("the plan was not created")
        }
        return try await require(id, on: connection)
    }

    public func update(_ id: UUID, to record: PlanRecord, on connection: PostgresConnection) async throws -> Plan {
        try await connection.query(
            """
            UPDATE plans SET name = \(record.name), description = \(record.description), rate_limit = \(record.rateLimit?.limit),
                   rate_period_seconds = \(record.rateLimit?.periodSeconds), quota_limit = \(record.quota.map { Int64($0.limit) }),
                   quota_period = \(record.quota?.period.rawValue), bucket = \(record.bucket.rawValue), updated_at = now()
            WHERE id = \(id)
            """, logger: logger)
        return try await require(id, on: connection)
    }

    public func list(on connection: PostgresConnection) async throws -> [Plan] {
        try await decode(connection.query("\(unescaped: Self.select) ORDER BY p.name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> Plan? {
        try await decode(connection.query("\(unescaped: Self.select) WHERE p.id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> Plan {
        guard let plan = try await find(id, on: connection) else { throw PorticoError.notFound("plan \(id)") }
        return plan
    }

    /// The id of the plan named `name`; an unknown name is an `invalid(field)` error.
    public func id(named name: String, field: String, on connection: PostgresConnection) async throws -> UUID {
        try await ids(named: [name], field: field, on: connection)[0]
    }

    public func ids(named names: [String], field: String, on connection: PostgresConnection) async throws -> [UUID] {
        try await connection.ids(named: names, inTable: "plans", kind: "plan", field: field, logger: logger)
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM plans WHERE id = \(id)", logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Plan] {
        var plans: [Plan] = []
        for try await (id, name, description, limit, period, quotaLimit, quotaPeriod, bucket, grants, createdAt, updatedAt) in rows.decode(
            (UUID, String, String, Int?, Int?, Int?, String?, String, [String], Date, Date).self)
        {
            plans.append(
                Plan(
                    id: id, name: name, description: description, rateLimit: RateLimit.stored(limit, period).map(RateLimitView.init),
                    quota: Quota.stored(quotaLimit, quotaPeriod), bucket: PlanBucket(rawValue: bucket) ?? .consumerAPI, grants: grants,
                    createdAt: createdAt, updatedAt: updatedAt))
        }
        return plans
    }
}
