import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// One quota counter's report from one replica (see `QuotaAllowance.Report`).
public struct QuotaCounterReport: Sendable {
    public let bucket: String
    public let window: QuotaWindow
    public let limit: Int
    public let spent: Int
    public let unreserve: Int
    public let want: Int

    public init(bucket: String, window: QuotaWindow, limit: Int, spent: Int, unreserve: Int, want: Int) {
        self.bucket = bucket
        self.window = window
        self.limit = limit
        self.spent = spent
        self.unreserve = unreserve
        self.want = want
    }
}

/// A quota counter after a report: calls counted, allowance leased to replicas, and the lease just granted.
public struct QuotaCounterTotals: Sendable, Equatable {
    public let used: Int
    public let reserved: Int
    public let granted: Int
}

/// Quota counters (`sql/0010_plans_and_quotas.sql`): every replica's calls, and the leases they spend.
public struct QuotaRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds each report's calls to its counter, takes back the lease it spent or hands back, and grants the lease
    /// it asks for, no more than what no replica holds yet. Each counter changes in one UPDATE that computes
    /// from the row as it is when locked, never from a value read earlier; counters are locked in one order, so
    /// two replicas' syncs cannot deadlock.
    public func report(_ reports: [QuotaCounterReport], on connection: PostgresConnection) async throws -> [String: [Int64: QuotaCounterTotals]] {
        guard !reports.isEmpty else { return [:] }
        let sorted = reports.sorted { ($0.bucket, $0.window.start) < ($1.bucket, $1.window.start) }
        let buckets = sorted.map(\.bucket)
        let starts = sorted.map(\.window.start)
        let ends = sorted.map(\.window.end)
        try await connection.query(
            """
            INSERT INTO quota_counters (bucket, period_start, period_end)
            SELECT * FROM unnest(\(buckets)::text[], \(starts)::bigint[], \(ends)::bigint[]) ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            SELECT 1 FROM quota_counters q JOIN unnest(\(buckets)::text[], \(starts)::bigint[]) AS i (bucket, period_start)
                ON q.bucket = i.bucket AND q.period_start = i.period_start
            ORDER BY q.bucket, q.period_start FOR UPDATE OF q
            """, logger: logger)
        let rows = try await connection.query(
            """
            UPDATE quota_counters q SET
                used = q.used + i.spent,
                reserved = greatest(0, q.reserved - i.unreserve)
                    + least(i.want, greatest(0, i.quota - (q.used + i.spent) - greatest(0, q.reserved - i.unreserve))),
                last_grant = least(i.want, greatest(0, i.quota - (q.used + i.spent) - greatest(0, q.reserved - i.unreserve)))
            FROM unnest(\(buckets)::text[], \(starts)::bigint[], \(sorted.map { Int64($0.limit) })::bigint[],
                        \(sorted.map { Int64($0.spent) })::bigint[], \(sorted.map { Int64($0.unreserve) })::bigint[],
                        \(sorted.map { Int64($0.want) })::bigint[]) AS i (bucket, period_start, quota, spent, unreserve, want)
            WHERE q.bucket = i.bucket AND q.period_start = i.period_start
            RETURNING q.bucket, q.period_start, q.used, q.reserved, q.last_grant
            """, logger: logger)
        var totals: [String: [Int64: QuotaCounterTotals]] = [:]
        for try await (bucket, start, used, reserved, granted) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            totals[bucket, default: [:]][start] = QuotaCounterTotals(used: Int(used), reserved: Int(reserved), granted: Int(granted))
        }
        return totals
    }

    /// Calls counted in each bucket's period that contains `start`, for the portal (0 for a counter not begun).
    public func used(buckets: [String], starts: [Int64], on connection: PostgresConnection) async throws -> [String: Int] {
        guard !buckets.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT q.bucket, q.used FROM quota_counters q
            JOIN unnest(\(buckets)::text[], \(starts)::bigint[]) AS i (bucket, period_start)
                ON q.bucket = i.bucket AND q.period_start = i.period_start
            """, logger: logger)
        var used: [String: Int] = [:]
        for try await (bucket, count) in rows.decode((String, Int64).self) { used[bucket] = Int(count) }
        return used
    }

    /// Deletes counters whose period ended more than a day ago.
    public func prune(nowSeconds: Int64, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM quota_counters WHERE period_end < \(nowSeconds - 86_400)", logger: logger)
    }
}
