import Foundation
import PorticoCore
import PorticoStore

/// How finely a usage series is cut: hours, or UTC days.
public enum UsageGranularity: String, Codable, Sendable {
    case hour, day

    var seconds: Int64 { self == .hour ? 3_600 : 86_400 }
}

/// One period of a usage series, as `GET /api/v1/usage` answers it.
public struct UsagePoint: Codable, Sendable, Equatable {
    public struct Requests: Codable, Sendable, Equatable {
        public var total: Int64
        public var status2xx: Int64
        public var status3xx: Int64
        public var status4xx: Int64
        public var status5xx: Int64

        enum CodingKeys: String, CodingKey {
            case total
            case status2xx = "2xx"
            case status3xx = "3xx"
            case status4xx = "4xx"
            case status5xx = "5xx"
        }
    }

    public struct Latency: Codable, Sendable, Equatable {
        /// Milliseconds, estimated from the histogram; nil without calls.
        public var p50: Double?
        public var p95: Double?
        /// Calls per bucket, with the buckets' upper bounds in milliseconds (the last bucket has none).
        public var histogram: [Int64]
    }

    public var start: Date
    public var requests: Requests
    public var rateLimited: Int64
    public var bytesIn: Int64
    public var bytesOut: Int64
    public var latency: Latency

    init(start: Int64, counts: UsageCounts) {
        self.start = Date(timeIntervalSince1970: TimeInterval(start))
        requests = Requests(
            total: counts.requests, status2xx: counts.byClass[0], status3xx: counts.byClass[1], status4xx: counts.byClass[2],
            status5xx: counts.byClass[3])
        rateLimited = counts.rateLimited
        bytesIn = counts.bytesIn
        bytesOut = counts.bytesOut
        latency = Latency(
            p50: LatencyBuckets.quantile(0.5, of: counts.latency), p95: LatencyBuckets.quantile(0.95, of: counts.latency),
            histogram: counts.latency)
    }
}

/// A usage series: every period from `from` to `to`, empty ones included.
public struct UsageSeries: Codable, Sendable {
    public var granularity: UsageGranularity
    public var from: Date
    public var to: Date
    public var user: UUID?
    public var api: String?
    public var application: UUID?
    /// The upper bounds of the latency histograms' buckets, in milliseconds.
    public var latencyBucketsMs: [Double]
    public var points: [UsagePoint]
}

/// Usage records as people read them: the admin API, the dashboard's user and API pages, the portal.
public struct UsageService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// The most periods one series may hold.
    static let maximumPoints = 2_000

    /// `user`'s calls are read under each id the gateway counts them under (`User.consumerIds`).
    public func series(
        user: User?, api: APIDefinition?, application: UUID? = nil, from: Date, to: Date, granularity: UsageGranularity
    ) async throws -> UsageSeries {
        let step = granularity.seconds
        let start = Int64(from.timeIntervalSince1970.rounded(.down)) / step * step
        let end = (Int64(to.timeIntervalSince1970.rounded(.up)) + step - 1) / step * step
        guard end > start else { throw PorticoError.invalid(field: "from", reason: "must be before to") }
        guard (end - start) / step <= Self.maximumPoints else {
            throw PorticoError.invalid(
                field: "from", reason: "the series would have more than \(Self.maximumPoints) \(granularity.rawValue)s; narrow from and to")
        }
        let stored = try await store.read { connection in
            try await UsageRepository(logger: store.database.logger).series(
                consumers: user?.consumerIds, api: api?.id, application: application, from: start, to: end, bucketSeconds: step, on: connection)
        }
        let byStart = Dictionary(stored.map { ($0.start, $0.counts) }, uniquingKeysWith: { first, _ in first })
        let points = stride(from: start, to: end, by: Int(step)).map { UsagePoint(start: $0, counts: byStart[$0] ?? UsageCounts()) }
        return UsageSeries(
            granularity: granularity, from: Date(timeIntervalSince1970: TimeInterval(start)), to: Date(timeIntervalSince1970: TimeInterval(end)),
            user: user?.id, api: api?.name, application: application, latencyBucketsMs: LatencyBuckets.upperBoundsMillis, points: points)
    }

    /// The last `days` UTC days, today included, by day.
    public func lastDays(_ days: Int, user: User?, api: APIDefinition?, application: UUID? = nil, now: Date = Date()) async throws -> UsageSeries {
        let today = Int64(now.timeIntervalSince1970) / 86_400 * 86_400
        return try await series(
            user: user, api: api, application: application, from: Date(timeIntervalSince1970: TimeInterval(today - Int64(days - 1) * 86_400)),
            to: Date(timeIntervalSince1970: TimeInterval(today + 86_400)), granularity: .day)
    }
}
