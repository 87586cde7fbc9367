import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The cluster's rate-limit buckets and the replicas' heartbeats (`sql/0009_cluster_rate_limits.sql`).
public struct RateLimitRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds each bucket's requests (`count` × `interval` nanoseconds, from `now` at the earliest) to its TAT in
    /// one atomic upsert, never read-then-write, and returns every given bucket's TAT after it. Buckets with no
    /// requests are only read, so an idle consumer costs no row write.
    public func add(
        buckets: [String], counts: [Int64], intervals: [Int64], now: Int64, on connection: PostgresConnection
    ) async throws -> [String: Int64] {
        var pushed: (buckets: [String], counts: [Int64], intervals: [Int64]) = ([], [], [])
        var refreshed: [String] = []
        for (index, bucket) in buckets.enumerated() {
            if counts[index] > 0 {
                pushed.buckets.append(bucket)
                pushed.counts.append(counts[index])
                pushed.intervals.append(intervals[index])
            } else {
                refreshed.append(bucket)
            }
        }
        var tats: [String: Int64] = [:]
        if !pushed.buckets.isEmpty {
            let rows = try await connection.query(
                """
                INSERT INTO rate_limit_buckets AS b (bucket, tat)
                SELECT bucket, \(now) + count * interval
                FROM unnest(\(pushed.buckets)::text[], \(pushed.counts)::bigint[], \(pushed.intervals)::bigint[]) AS t (bucket, count, interval)
                ON CONFLICT (bucket) DO UPDATE SET tat = greatest(b.tat, \(now)) + (EXCLUDED.tat - \(now))
                RETURNING bucket, tat
                """, logger: logger)
            for try await (bucket, tat) in rows.decode((String, Int64).self) { tats[bucket] = tat }
        }
        if !refreshed.isEmpty {
            let rows = try await connection.query(
                "SELECT bucket, tat FROM rate_limit_buckets WHERE bucket = ANY(\(refreshed))", logger: logger)
            for try await (bucket, tat) in rows.decode((String, Int64).self) { tats[bucket] = tat }
        }
        return tats
    }

    /// Records that replica `id` is alive and returns how many replicas were seen within `window`.
    /// The time is the statement's (`clock_timestamp()`), not the transaction's start (`now()`): a sync whose
    /// transaction waited a while still beats at the moment it writes, and counts the others at the moment it reads.
    public func heartbeat(_ id: UUID, window: Duration, on connection: PostgresConnection) async throws -> Int {
        try await connection.query(
            """
            INSERT INTO gateway_replicas (id, seen_at) VALUES (\(id), clock_timestamp())
            ON CONFLICT (id) DO UPDATE SET seen_at = clock_timestamp()
            """,
            logger: logger)
        let rows = try await connection.query(
            "SELECT count(*) FROM gateway_replicas WHERE seen_at > clock_timestamp() - make_interval(secs => \(window.seconds))", logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 1
    }

    /// A replica that stops says so, so the others take over its share at once.
    public func leave(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM gateway_replicas WHERE id = \(id)", logger: logger)
    }

    /// Deletes buckets full again for over an hour and replicas not seen for a minute.
    public func prune(now: Int64, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM rate_limit_buckets WHERE tat < \(now - 3_600_000_000_000)", logger: logger)
        try await connection.query("DELETE FROM gateway_replicas WHERE seen_at < now() - interval '1 minute'", logger: logger)
    }
}
