import Foundation

/// How long a quota lasts before it starts again. Every period starts at the same instant on every replica:
/// `24h` at midnight UTC, `30d` every 30 days counted from 1970-01-01 UTC, `month` on the first of each calendar
/// month, UTC.
public enum QuotaPeriod: String, Codable, Sendable, CaseIterable {
    case day = "24h"
    case thirtyDays = "30d"
    case month

    /// The period's nominal length, for comparing quotas and for `RateLimit-Policy`'s `w` (a month counts 30 days).
    public var nominalSeconds: Int {
        switch self {
        case .day: 86_400
        case .thirtyDays, .month: 2_592_000
        }
    }

    /// The period that contains `seconds` since 1970.
    public func window(containing seconds: Int64) -> QuotaWindow {
        switch self {
        case .day, .thirtyDays:
            let length = Int64(nominalSeconds)
            let start = seconds - ((seconds % length) + length) % length
            return QuotaWindow(start: start, end: start + length)
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let parts = calendar.dateComponents([.year, .month], from: date)
            guard let start = calendar.date(from: parts), let end = calendar.date(byAdding: .month, value: 1, to: start) else {
                return QuotaPeriod.thirtyDays.window(containing: seconds)
            }
            return QuotaWindow(start: Int64(start.timeIntervalSince1970), end: Int64(end.timeIntervalSince1970))
        }
    }

    public static func parse(_ text: String, field: String = "quota.period") throws(PorticoError) -> QuotaPeriod {
        guard let period = QuotaPeriod(rawValue: text.trimmingSpaces()) else {
            throw .invalid(field: field, reason: "'\(text)' is not a quota period; use 24h, 30d or month")
        }
        return period
    }
}

/// One period of a quota: `start` ≤ t < `end`, in seconds since 1970.
public struct QuotaWindow: Sendable, Hashable {
    public let start: Int64
    public let end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public func contains(_ seconds: Int64) -> Bool { start <= seconds && seconds < end }

    /// Whole seconds from `seconds` to the period's end, at least 1.
    public func secondsLeft(from seconds: Int64) -> Int { Int(max(1, end - seconds)) }
}

/// A quota: at most `limit` calls per period, counted in PostgreSQL for every replica together.
public struct Quota: Sendable, Hashable, Codable {
    public let limit: Int
    public let period: QuotaPeriod

    public init(limit: Int, period: QuotaPeriod) throws(PorticoError) {
        guard limit > 0 else { throw .invalid(field: "quota.limit", reason: "must be a positive whole number") }
        self.limit = limit
        self.period = period
    }

    /// Calls per second on average over a nominal period, to compare quotas.
    public var rate: Double { Double(limit) / Double(period.nominalSeconds) }
}

/// Whether one consumer's calls to several APIs of a plan share one counter (`consumer`) or count per API
/// (`consumer-api`, the default).
public enum PlanBucket: String, Codable, Sendable, CaseIterable {
    case consumerAPI = "consumer-api"
    case consumer

    public static func parse(_ text: String) throws(PorticoError) -> PlanBucket {
        guard let bucket = PlanBucket(rawValue: text.trimmingSpaces()) else {
            throw .invalid(field: "bucket", reason: "'\(text)' is not a bucket; use consumer-api or consumer")
        }
        return bucket
    }
}

/// The name of a quota's counter in the database, the same in every replica: one consumer on one plan, per API
/// unless the plan's bucket is the consumer.
public enum QuotaBucketName {
    public static func of(plan: UUID, consumer: UUID, api: UUID?) -> String {
        let base = "\(plan.uuidString)/\(consumer.uuidString)"
        return api.map { "\(base)/\($0.uuidString)" } ?? base
    }
}
