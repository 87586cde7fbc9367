/// A rate limit of an APIAccess grant: at most `limit` requests per `periodSeconds`.
public struct RateLimit: Sendable, Hashable, Codable {
    public let limit: Int
    public let periodSeconds: Int

    public init(limit: Int, periodSeconds: Int) throws(PorticoError) {
        guard limit > 0 else { throw .invalid(field: "rateLimit.limit", reason: "must be a positive whole number") }
        guard periodSeconds > 0 else { throw .invalid(field: "rateLimit.period", reason: "must be a positive number of seconds") }
        guard periodSeconds <= Self.maximumPeriodSeconds else {
            throw .invalid(field: "rateLimit.period", reason: "must be at most \(Self.maximumPeriodSeconds) seconds (30 days)")
        }
        self.limit = limit
        self.periodSeconds = periodSeconds
    }

    public static let maximumPeriodSeconds = 30 * 24 * 3600

    /// Parses "1s", "1m", "1h", "24h", "7d" or a plain number of seconds ("90").
    public static func parsePeriod(_ text: String) throws(PorticoError) -> Int {
        let trimmed = text.trimmingSpaces()
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = Substring(trimmed)
        var multiplier = 1
        if let last = trimmed.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0 else {
            throw .invalid(field: "rateLimit.period", reason: "'\(text)' is not a period; use 1s, 1m, 1h, 24h or a number of seconds")
        }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, seconds <= maximumPeriodSeconds else {
            throw .invalid(field: "rateLimit.period", reason: "must be at most \(maximumPeriodSeconds) seconds (30 days)")
        }
        return seconds
    }

    /// Requests per second this limit allows on average, to compare grants.
    public var rate: Double { Double(limit) / Double(periodSeconds) }
}

extension String {
    func trimmingSpaces() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}

/// Where a gateway counts rate limits: in its own memory (`local`), or shared with every replica on the
/// database through background syncs (`cluster`).
public enum RateLimitStore: String, Sendable, CaseIterable {
    case local, cluster
}

/// What a cluster store does while it cannot reach the database: `open` lets each replica enforce its share of
/// each limit alone; `closed` refuses requests on rate-limited grants with 503 until counting is shared again.
public enum RateLimitFailMode: String, Sendable, CaseIterable {
    case open, closed
}
