/// Latency buckets shared by every replica, so that histograms add up: the upper bounds in milliseconds, the
/// last bucket taking everything slower.
public enum LatencyBuckets {
    public static let upperBoundsMillis: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
    /// One more than the bounds: the last bucket has no upper bound.
    public static let count = upperBoundsMillis.count + 1

    /// The bucket of a latency in nanoseconds.
    public static func index(nanoseconds: Int64) -> Int {
        let millis = Double(nanoseconds) / 1_000_000
        return upperBoundsMillis.firstIndex { millis <= $0 } ?? upperBoundsMillis.count
    }

    /// The `quantile` (0…1) of a histogram in milliseconds, interpolated linearly inside its bucket (the last,
    /// open bucket answers its lower bound); nil for an empty histogram.
    public static func quantile(_ quantile: Double, of histogram: [Int64]) -> Double? {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = quantile * Double(total)
        var below: Int64 = 0
        for (index, count) in histogram.enumerated() where count > 0 {
            if Double(below + count) >= rank {
                let lower = index == 0 ? 0 : upperBoundsMillis[index - 1]
                guard index < upperBoundsMillis.count else { return lower }
                let fraction = max(0, min(1, (rank - Double(below)) / Double(count)))
                return lower + (upperBoundsMillis[index] - lower) * fraction
            }
            below += count
        }
        return upperBoundsMillis.last
    }
}

/// What one consumer did on one API in one hour, as the gateway counts it and PostgreSQL stores it
/// (`usage_hourly`); counts of two replicas, or of two hours, add up.
public struct UsageCounts: Sendable, Equatable, Codable {
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    public var byClass: [Int64] = [0, 0, 0, 0]
    /// Of those, calls refused by a rate limit or quota (429s the gateway gave itself).
    public var rateLimited: Int64 = 0
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    /// Calls per `LatencyBuckets` bucket.
    public var latency: [Int64] = Array(repeating: 0, count: LatencyBuckets.count)

    public init() {}

    public init(byClass: [Int64], rateLimited: Int64, bytesIn: Int64, bytesOut: Int64, latency: [Int64]) {
        self.byClass = byClass
        self.rateLimited = rateLimited
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.latency = latency
    }

    public var requests: Int64 { byClass.reduce(0, +) }

    /// Counts one answered call.
    public mutating func record(status: Int, rateLimited limited: Bool, bytesIn received: Int, bytesOut sent: Int, latencyNanos: Int64) {
        let statusClass = min(max(status / 100, 2), 5) - 2
        byClass[statusClass] += 1
        if limited { rateLimited += 1 }
        bytesIn += Int64(received)
        bytesOut += Int64(sent)
        latency[LatencyBuckets.index(nanoseconds: latencyNanos)] += 1
    }

    /// Adds another period's or replica's counts.
    public mutating func add(_ other: UsageCounts) {
        for index in byClass.indices { byClass[index] += other.byClass[index] }
        rateLimited += other.rateLimited
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        for index in latency.indices where index < other.latency.count { latency[index] += other.latency[index] }
    }
}
