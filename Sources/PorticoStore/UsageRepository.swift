import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// One consumer's counts on one API in one hour (seconds since 1970 at the hour's start).
public struct UsageRow: Sendable, Equatable {
    public let consumer: UUID
    public let api: UUID
    public let hour: Int64
    public let counts: UsageCounts
    /// The application of the keys the calls came with; nil for calls without a key.
    public let application: UUID?

    public init(consumer: UUID, api: UUID, hour: Int64, counts: UsageCounts, application: UUID? = nil) {
        self.application = application
        self.consumer = consumer
        self.api = api
        self.hour = hour
        self.counts = counts
    }
}

/// Usage records (`usage_hourly`): added by every gateway replica, read by the admin API, dashboard and portal.
public struct UsageRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Adds each row's counts to what is stored, in one upsert (never read-then-write), locking rows in one order.
    public func add(_ rows: [UsageRow], on connection: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        let sorted = rows.sorted {
            ($0.consumer.uuidString, $0.api.uuidString, $0.hour, $0.storedApplication.uuidString)
                < ($1.consumer.uuidString, $1.api.uuidString, $1.hour, $1.storedApplication.uuidString)
        }
        // Histograms go as one flat array, LatencyBuckets.count per row, and are cut back into rows in SQL.
        let width = LatencyBuckets.count
        try await connection.query(
            """
            INSERT INTO usage_hourly AS u (consumer_id, api_id, hour, application_id, requests_2xx, requests_3xx, requests_4xx, requests_5xx,
                                           rate_limited, bytes_in, bytes_out, latency)
            SELECT t.consumer, t.api, to_timestamp(t.hour), t.application, t.c2, t.c3, t.c4, t.c5, t.limited, t.bytes_in, t.bytes_out,
                   (\(sorted.flatMap(\.counts.latency))::bigint[])[(t.n - 1) * \(width) + 1 : t.n * \(width)]
            FROM unnest(\(sorted.map(\.consumer))::uuid[], \(sorted.map(\.api))::uuid[], \(sorted.map(\.hour))::bigint[],
                        \(sorted.map { $0.counts.byClass[0] })::bigint[], \(sorted.map { $0.counts.byClass[1] })::bigint[],
                        \(sorted.map { $0.counts.byClass[2] })::bigint[], \(sorted.map { $0.counts.byClass[3] })::bigint[],
                        \(sorted.map(\.counts.rateLimited))::bigint[], \(sorted.map(\.counts.bytesIn))::bigint[],
                        \(sorted.map(\.counts.bytesOut))::bigint[], \(sorted.map(\.storedApplication))::uuid[])
                 WITH ORDINALITY AS t (consumer, api, hour, c2, c3, c4, c5, limited, bytes_in, bytes_out, application, n)
            ORDER BY t.n
            ON CONFLICT (consumer_id, api_id, hour, application_id) DO UPDATE SET
                requests_2xx = u.requests_2xx + EXCLUDED.requests_2xx, requests_3xx = u.requests_3xx + EXCLUDED.requests_3xx,
                requests_4xx = u.requests_4xx + EXCLUDED.requests_4xx, requests_5xx = u.requests_5xx + EXCLUDED.requests_5xx,
                rate_limited = u.rate_limited + EXCLUDED.rate_limited, bytes_in = u.bytes_in + EXCLUDED.bytes_in,
                bytes_out = u.bytes_out + EXCLUDED.bytes_out,
                latency = ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0) FROM unnest(u.latency, EXCLUDED.latency) AS h (a, b))
            """, logger: logger)
    }

    /// The counts between `from` and `to` (seconds since 1970, `to` excluded), for some consumers (one user's
    /// ids, `User.consumerIds`), one API, one application, any of them or none, summed per `bucketSeconds` (3600
    /// for hours, 86400 for UTC days), oldest first.
    public func series(
        consumers: [UUID]?, api: UUID?, application: UUID? = nil, from: Int64, to: Int64, bucketSeconds: Int64, on connection: PostgresConnection
    ) async throws -> [(start: Int64, counts: UsageCounts)] {
        let rows = try await connection.query(
            """
            SELECT (floor(extract(epoch FROM hour) / \(bucketSeconds)) * \(bucketSeconds))::bigint AS start,
                   sum(requests_2xx)::bigint, sum(requests_3xx)::bigint, sum(requests_4xx)::bigint, sum(requests_5xx)::bigint,
                   sum(rate_limited)::bigint, sum(bytes_in)::bigint, sum(bytes_out)::bigint,
                   ARRAY(SELECT sum(x)::bigint FROM unnest(array_agg(latency)) WITH ORDINALITY AS f (x, i) GROUP BY (i - 1) % \(unescaped: String(LatencyBuckets.count))
                         ORDER BY (i - 1) % \(unescaped: String(LatencyBuckets.count)))
            FROM usage_hourly
            WHERE hour >= to_timestamp(\(from)) AND hour < to_timestamp(\(to))
              AND (\(consumers)::uuid[] IS NULL OR consumer_id = ANY(\(consumers)::uuid[])) AND (\(api)::uuid IS NULL OR api_id = \(api))
              AND (\(application)::uuid IS NULL OR application_id = \(application))
            GROUP BY 1 ORDER BY 1
            """, logger: logger)
        var series: [(start: Int64, counts: UsageCounts)] = []
        for try await (start, c2, c3, c4, c5, limited, bytesIn, bytesOut, latency) in rows.decode(
            (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, [Int64]).self)
        {
            series.append(
                (start, UsageCounts(byClass: [c2, c3, c4, c5], rateLimited: limited, bytesIn: bytesIn, bytesOut: bytesOut, latency: latency)))
        }
        return series
    }

    /// Deletes the hours older than `retention` days before `nowSeconds`.
    public func prune(olderThanDays retention: Int, nowSeconds: Int64, on connection: PostgresConnection) async throws {
        try await connection.query(
            "DELETE FROM usage_hourly WHERE hour < to_timestamp(\(nowSeconds - Int64(retention) * 86_400))", logger: logger)
    }
}

extension UsageRow {
    /// Calls without a key count under the nil UUID, so that the table's key has no NULL.
    static let noApplication = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    var storedApplication: UUID { application ?? Self.noApplication }
}
