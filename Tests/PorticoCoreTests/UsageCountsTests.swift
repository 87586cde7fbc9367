import PorticoCore
import Testing

@Suite struct UsageCountsTests {
    @Test func callsAreCountedByStatusClassBytesAndLatencyBucket() {
        var counts = UsageCounts()
        counts.record(status: 200, rateLimited: false, bytesIn: 10, bytesOut: 100, latencyNanos: 800_000)  // 0.8 ms
        counts.record(status: 304, rateLimited: false, bytesIn: 0, bytesOut: 0, latencyNanos: 3_000_000)
        counts.record(status: 429, rateLimited: true, bytesIn: 0, bytesOut: 50, latencyNanos: 100_000)
        counts.record(status: 503, rateLimited: false, bytesIn: 5, bytesOut: 20, latencyNanos: 20_000_000_000)  // 20 s
        #expect(counts.byClass == [1, 1, 1, 1])
        #expect(counts.rateLimited == 1)
        #expect(counts.bytesIn == 15 && counts.bytesOut == 170)
        #expect(counts.latency[0] == 2, "both under 1 ms")
        #expect(counts.latency[2] == 1, "3 ms is in the 2–5 ms bucket")
        #expect(counts.latency[LatencyBuckets.count - 1] == 1, "slower than 10 s: the open bucket")
    }

    @Test func countsOfTwoReplicasAddUp() {
        var first = UsageCounts()
        var second = UsageCounts()
        for _ in 0..<3 { first.record(status: 200, rateLimited: false, bytesIn: 1, bytesOut: 2, latencyNanos: 4_000_000) }
        second.record(status: 500, rateLimited: false, bytesIn: 1, bytesOut: 2, latencyNanos: 40_000_000)
        first.add(second)
        #expect(first.requests == 4)
        #expect(first.byClass == [3, 0, 0, 1])
        #expect(first.latency.reduce(0, +) == 4)
    }

    @Test func quantilesInterpolateInsideTheirBucket() throws {
        var histogram = Array(repeating: Int64(0), count: LatencyBuckets.count)
        histogram[3] = 100  // 5–10 ms
        #expect(try #require(LatencyBuckets.quantile(0.5, of: histogram)) == 7.5)
        histogram[6] = 100  // 50–100 ms
        #expect(try #require(LatencyBuckets.quantile(0.5, of: histogram)) == 10)
        #expect(try #require(LatencyBuckets.quantile(0.95, of: histogram)) == 95)
        #expect(LatencyBuckets.quantile(0.5, of: Array(repeating: 0, count: LatencyBuckets.count)) == nil)
    }
}
