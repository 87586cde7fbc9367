import Testing

@testable import PorticoCore

@Suite struct GCRATests {
    let tenPerMinute = try! RateLimit(limit: 10, periodSeconds: 60)
    let second: Int64 = 1_000_000_000

    @Test func aNewConsumerGetsTheFullBurst() {
        var tat: Int64? = nil
        var remaining: [Int] = []
        for _ in 0..<10 {
            let (decision, next) = GCRA.decide(tat: tat, now: 0, limit: tenPerMinute)
            #expect(decision.allowed)
            remaining.append(decision.remaining)
            tat = next
        }
        #expect(remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
        let (over, _) = GCRA.decide(tat: tat, now: 0, limit: tenPerMinute)
        #expect(!over.allowed)
        #expect(over.remaining == 0)
        #expect(over.retryAfterSeconds == 6)
        #expect(over.resetSeconds == 60)
        #expect(over.periodSeconds == 60)
    }

    @Test func capacityReturnsAtTheEmissionInterval() {
        var tat: Int64? = nil
        for _ in 0..<10 { tat = GCRA.decide(tat: tat, now: 0, limit: tenPerMinute).newTAT }
        #expect(!GCRA.decide(tat: tat, now: 5 * second, limit: tenPerMinute).0.allowed)
        let (decision, _) = GCRA.decide(tat: tat, now: 6 * second, limit: tenPerMinute)
        #expect(decision.allowed)
        #expect(decision.remaining == 0)
    }

    @Test func aRejectedRequestDoesNotConsumeCapacity() {
        var tat: Int64? = nil
        for _ in 0..<10 { tat = GCRA.decide(tat: tat, now: 0, limit: tenPerMinute).newTAT }
        let (_, afterReject) = GCRA.decide(tat: tat, now: 1 * second, limit: tenPerMinute)
        #expect(afterReject == tat)
    }

    @Test func resetIsTheTimeUntilTheQuotaIsFull() {
        let (decision, _) = GCRA.decide(tat: nil, now: 0, limit: tenPerMinute)
        #expect(decision.resetSeconds == 6)
    }

    @Test func periodsParse() throws {
        #expect(try RateLimit.parsePeriod("1s") == 1)
        #expect(try RateLimit.parsePeriod("1m") == 60)
        #expect(try RateLimit.parsePeriod("1h") == 3600)
        #expect(try RateLimit.parsePeriod("24h") == 86400)
        #expect(try RateLimit.parsePeriod("90") == 90)
        #expect(throws: PorticoError.self) { try RateLimit.parsePeriod("1w") }
        #expect(throws: PorticoError.self) { try RateLimit.parsePeriod("-5") }
        #expect(throws: PorticoError.self) { try RateLimit.parsePeriod("") }
        #expect(throws: PorticoError.self) { try RateLimit.parsePeriod("99999999999999999999d") }
        #expect(throws: PorticoError.self) { try RateLimit(limit: 0, periodSeconds: 60) }
    }

    @Test func theMostGenerousLimitWins() throws {
        let slow = AccessLimits.rate(try RateLimit(limit: 10, periodSeconds: 60))
        let fast = AccessLimits.rate(try RateLimit(limit: 100, periodSeconds: 60))
        let burst = AccessLimits.rate(try RateLimit(limit: 20, periodSeconds: 120))
        #expect(AccessLimits.mostGenerous([slow, fast]) == fast)
        #expect(AccessLimits.mostGenerous([slow, .unlimited, fast]) == .unlimited)
        #expect(AccessLimits.mostGenerous([slow, burst]) == burst)  // same rate, larger burst
        #expect(AccessLimits.mostGenerous([AccessLimits]()) == nil)
    }
}
