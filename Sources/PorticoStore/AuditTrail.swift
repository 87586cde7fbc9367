import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Writes the audit log: who did what, to which entity, with the state before and after.
public struct AuditTrail: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds an entry; `before` and `after` are stored as JSON, keys sorted, dates in ISO 8601.
    public func record(
        _ action: String, entity: String, id: String?, before: (some Encodable & Sendable)?, after: (some Encodable & Sendable)?,
        by actor: Actor, on connection: PostgresConnection
    ) async throws {
        let beforeJSON = try before.map(Self.json)
        let afterJSON = try after.map(Self.json)
        try await connection.query(
            """
            INSERT INTO audit_log (actor_id, actor, action, entity_type, entity_id, before, after)
            VALUES (\(actor.id), \(actor.label), \(action), \(entity), \(id), \(beforeJSON)::jsonb, \(afterJSON)::jsonb)
            """, logger: logger)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// One row of the audit log; `before` and `after` are the entity as JSON.
public struct AuditEntry: Codable, Sendable {
    public var id: Int64
    public var actor: String
    public var action: String
    public var entityType: String
    public var entityId: String?
    public var before: String?
    public var after: String?
    public var at: Date
}

extension AuditTrail {
    public func count(on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.query("SELECT count(*) FROM audit_log", logger: logger).decode(Int.self) { return count }
        return 0
    }

    /// The newest entries first, a page at a time.
    public func recent(limit: Int, offset: Int, on connection: PostgresConnection) async throws -> [AuditEntry] {
        let rows = try await connection.query(
            """
            SELECT id, actor, action, entity_type, entity_id, before::text, after::text, at
            FROM audit_log ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await (id, actor, action, type, entityId, before, after, at) in rows.decode(
            (Int64, String, String, String, String?, String?, String?, Date).self)
        {
            entries.append(
                AuditEntry(id: id, actor: actor, action: action, entityType: type, entityId: entityId, before: before, after: after, at: at))
        }
        return entries
    }
}
