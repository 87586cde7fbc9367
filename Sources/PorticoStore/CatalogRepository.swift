import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The catalog entries of APIs (`api_catalog` and its groups and plans) and consumers' access requests.
public struct CatalogRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Every API's entry, by API id; an API without one is `APICatalogSettings.unlisted`.
    public func settings(on connection: PostgresConnection) async throws -> [UUID: APICatalogSettings] {
        let rows = try await connection.query(
            """
            SELECT c.api_id, c.visibility, c.auto_approve,
                   coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM api_catalog_groups cg JOIN groups g ON g.id = cg.group_id
                             WHERE cg.api_id = c.api_id), '{}'),
                   coalesce((SELECT array_agg(p.name ORDER BY p.name) FROM api_catalog_plans cp JOIN plans p ON p.id = cp.plan_id
                             WHERE cp.api_id = c.api_id), '{}')
            FROM api_catalog c
            """, logger: logger)
        var settings: [UUID: APICatalogSettings] = [:]
        for try await (api, visibility, autoApprove, groups, plans) in rows.decode((UUID, String, Bool, [String], [String]).self) {
            let kind: CatalogVisibility
            switch visibility {
            case "public": kind = .public
            case "groups": kind = .groups(groups)
            default: kind = .private
            }
            settings[api] = APICatalogSettings(visibility: kind, plans: plans, autoApprove: autoApprove)
        }
        return settings
    }

    public func settings(of api: UUID, on connection: PostgresConnection) async throws -> APICatalogSettings {
        // Small tables: reading them whole keeps one decoding of a row.
        try await settings(on: connection)[api] ?? .unlisted
    }

    /// Replaces the API's entry; group and plan names already resolved to ids.
    public func save(
        _ settings: APICatalogSettings, groupIds: [UUID], planIds: [UUID], api: UUID, on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO api_catalog (api_id, visibility, auto_approve) VALUES (\(api), \(settings.visibility.kind), \(settings.autoApprove))
            ON CONFLICT (api_id) DO UPDATE SET visibility = EXCLUDED.visibility, auto_approve = EXCLUDED.auto_approve, updated_at = now()
            """, logger: logger)
        try await connection.query("DELETE FROM api_catalog_groups WHERE api_id = \(api)", logger: logger)
        try await connection.query("DELETE FROM api_catalog_plans WHERE api_id = \(api)", logger: logger)
        try await connection.query(
            "INSERT INTO api_catalog_groups (api_id, group_id) SELECT \(api), unnest(\(groupIds)::uuid[])", logger: logger)
        try await connection.query("INSERT INTO api_catalog_plans (api_id, plan_id) SELECT \(api), unnest(\(planIds)::uuid[])", logger: logger)
    }

    private static let requestColumns = """
        r.id, r.user_id, u.email, r.api_id, a.name, p.name, r.reason, r.status, r.decision_reason, r.decided_by, r.decided_at,
        r.grant_name, r.created_at
        FROM access_requests r JOIN users u ON u.id = r.user_id JOIN apis a ON a.id = r.api_id LEFT JOIN plans p ON p.id = r.plan_id
        """

    public func createRequest(user: UUID, api: UUID, plan: UUID?, reason: String, on connection: PostgresConnection) async throws -> AccessRequest {
        let rows = try await connection.query(
            """
            INSERT INTO access_requests (user_id, api_id, plan_id, reason) VALUES (\(user), \(api), \(plan), \(reason))
            ON CONFLICT (user_id, api_id) WHERE status = 'pending' DO NOTHING RETURNING id
            """, logger: logger)
        guard let id = try await rows.decode(UUID.self).first(where: { _ in true }) else {
            throw PorticoError.duplicate("a request for this API is already waiting for an answer")
        }
        return try await requireRequest(id, on: connection)
    }

    /// Requests, newest first: those with `status`, or all; those of one user, or everyone's.
    public func requests(status: AccessRequestStatus?, user: UUID?, on connection: PostgresConnection) async throws -> [AccessRequest] {
        try await decode(
            connection.query(
                """
                SELECT \(unescaped: Self.requestColumns)
                WHERE (\(status?.rawValue)::text IS NULL OR r.status = \(status?.rawValue)) AND (\(user)::uuid IS NULL OR r.user_id = \(user))
                ORDER BY r.created_at DESC, r.id LIMIT 500
                """, logger: logger))
    }

    public func pendingCount(on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("SELECT count(*)::int FROM access_requests WHERE status = 'pending'", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// The request, locked for a decision when `forUpdate`.
    public func request(_ id: UUID, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> AccessRequest? {
        try await decode(
            connection.query(
                "SELECT \(unescaped: Self.requestColumns) WHERE r.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE OF r" : "")", logger: logger)
        ).first
    }

    public func requireRequest(_ id: UUID, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> AccessRequest {
        guard let request = try await request(id, forUpdate: forUpdate, on: connection) else { throw PorticoError.notFound("access request \(id)") }
        return request
    }

    public func decide(
        _ id: UUID, status: AccessRequestStatus, reason: String?, by actor: String, grant: String?, on connection: PostgresConnection
    ) async throws -> AccessRequest {
        try await connection.query(
            """
            UPDATE access_requests SET status = \(status.rawValue), decision_reason = \(reason), decided_by = \(actor), decided_at = now(),
                   grant_name = \(grant)
            WHERE id = \(id)
            """, logger: logger)
        return try await requireRequest(id, on: connection)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [AccessRequest] {
        var requests: [AccessRequest] = []
        for try await (id, user, email, api, apiName, plan, reason, status, decisionReason, decidedBy, decidedAt, grant, createdAt) in rows.decode(
            (UUID, UUID, String, UUID, String, String?, String, String, String?, String?, Date?, String?, Date).self)
        {
            requests.append(
                AccessRequest(
                    id: id, userId: user, userEmail: email, apiId: api, api: apiName, plan: plan, reason: reason,
                    status: AccessRequestStatus(rawValue: status) ?? .pending, decisionReason: decisionReason, decidedBy: decidedBy,
                    decidedAt: decidedAt, grant: grant, createdAt: createdAt))
        }
        return requests
    }
}
