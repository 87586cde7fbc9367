import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The recent refusals every gateway replica writes (`recent_refusals`), kept to the newest
/// `Refusal.keptPerConsumer` per consumer.
public struct RefusalRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds a batch, then trims each of its consumers back to their newest refusals.
    public func add(_ refusals: [Refusal], on connection: PostgresConnection) async throws {
        guard !refusals.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO recent_refusals (consumer_id, at, request_id, method, path, api, status, error, step, message)
            SELECT t.consumer, t.at, t.request, t.method, t.path, nullif(t.api, ''), t.status, t.error, t.step, t.message
            FROM unnest(\(refusals.map(\.consumer))::uuid[], \(refusals.map(\.at))::timestamptz[], \(refusals.map(\.requestId))::text[],
                        \(refusals.map(\.method))::text[], \(refusals.map(\.path))::text[], \(refusals.map { $0.api ?? "" })::text[],
                        \(refusals.map(\.status))::integer[], \(refusals.map(\.error))::text[], \(refusals.map(\.step))::text[],
                        \(refusals.map(\.message))::text[])
                 AS t (consumer, at, request, method, path, api, status, error, step, message)
            """, logger: logger)
        let consumers = Array(Set(refusals.map(\.consumer)))
        try await connection.query(
            """
            DELETE FROM recent_refusals WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY consumer_id ORDER BY at DESC, id DESC) AS n
                    FROM recent_refusals WHERE consumer_id = ANY(\(consumers)::uuid[])
                ) ranked WHERE n > \(Refusal.keptPerConsumer))
            """, logger: logger)
    }

    /// The newest refusals of these consumers (a user's own id and, for a token user, their derived one).
    public func recent(consumers: [UUID], limit: Int = Refusal.keptPerConsumer, on connection: PostgresConnection) async throws -> [Refusal] {
        try await decode(
            connection.query(
                """
                SELECT consumer_id, at, request_id, method, path, api, status, error, step, message FROM recent_refusals
                WHERE consumer_id = ANY(\(consumers)::uuid[]) ORDER BY at DESC, id DESC LIMIT \(limit)
                """, logger: logger))
    }

    /// The refusals with this request id (one, unless clients reused an id).
    public func find(requestId: String, on connection: PostgresConnection) async throws -> [Refusal] {
        try await decode(
            connection.query(
                """
                SELECT consumer_id, at, request_id, method, path, api, status, error, step, message FROM recent_refusals
                WHERE request_id = \(requestId) ORDER BY at DESC, id DESC LIMIT 20
                """, logger: logger))
    }

    /// Refusals older than `days` go, whoever they were of (a consumer who stopped calling, a deleted user).
    public func prune(olderThanDays days: Int, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM recent_refusals WHERE at < now() - make_interval(days => \(days))", logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Refusal] {
        var refusals: [Refusal] = []
        for try await (consumer, at, requestId, method, path, api, status, error, step, message) in rows.decode(
            (UUID, Date, String, String, String, String?, Int, String, String, String).self)
        {
            refusals.append(
                Refusal(
                    consumer: consumer, at: at, requestId: requestId, method: method, path: path, api: api, status: status, error: error, step: step,
                    message: message))
        }
        return refusals
    }
}
