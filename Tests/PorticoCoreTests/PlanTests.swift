import Foundation
import Testing

@testable import PorticoCore

@Suite struct QuotaPeriodTests {
    /// Seconds since 1970 of a UTC date and time.
    func utc(_ text: String) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(try #require(formatter.date(from: text)).timeIntervalSince1970)
    }

    @Test func aDayStartsAtMidnightUTC() throws {
        let window = QuotaPeriod.day.window(containing: try utc("2026-11-26T17:45:12Z"))
        #expect(window.start == (try utc("2026-11-26T00:00:00Z")))
        #expect(window.end == (try utc("2026-11-27T00:00:00Z")))
        #expect(window.secondsLeft(from: try utc("2026-11-26T23:59:30Z")) == 30)
    }

    @Test func aMonthIsTheUTCCalendarMonth() throws {
        let february = QuotaPeriod.month.window(containing: try utc("2028-02-29T12:00:00Z"))
        #expect(february.start == (try utc("2028-02-01T00:00:00Z")))
        #expect(february.end == (try utc("2028-03-01T00:00:00Z")))
        let december = QuotaPeriod.month.window(containing: try utc("2026-12-31T23:59:59Z"))
        #expect(december.end == (try utc("2027-01-01T00:00:00Z")))
        let first = QuotaPeriod.month.window(containing: try utc("2027-01-01T00:00:00Z"))
        #expect(first.start == december.end, "the boundary instant belongs to the new month")
    }

    @Test func thirtyDaysAreCountedFrom1970() throws {
        let window = QuotaPeriod.thirtyDays.window(containing: try utc("2026-11-26T00:00:00Z"))
        #expect(window.start % 2_592_000 == 0)
        #expect(window.end - window.start == 2_592_000)
        #expect(window.contains(try utc("2026-11-26T00:00:00Z")))
    }

    @Test func unknownPeriodsAndBucketsAreRefusedByName() {
        #expect(throws: PorticoError.invalid(field: "quota.period", reason: "'week' is not a quota period; use 24h, 30d or month")) {
            try QuotaPeriod.parse("week")
        }
        #expect(throws: PorticoError.self) { try PlanBucket.parse("application") }
        #expect(throws: PorticoError.self) { try Quota(limit: 0, period: .day) }
    }
}

@Suite struct MostGenerousPlanTests {
    let perMinute100 = try! RateLimit(limit: 100, periodSeconds: 60)
    let perMinute10 = try! RateLimit(limit: 10, periodSeconds: 60)

    func plan(_ name: String, rate: RateLimit?, quota: Int?, period: QuotaPeriod = .month) throws -> AccessLimits {
        let plan = CompiledPlan(
            id: UUID(), name: name, rateLimit: rate, quota: try quota.map { try Quota(limit: $0, period: period) }, bucket: .consumerAPI)
        return AccessLimits(grantRate: nil, plan: plan)
    }

    @Test func noLimitBeatsAnyLimit() throws {
        let gold = try plan("gold", rate: perMinute100, quota: 1_000_000)
        #expect(AccessLimits.mostGenerous([gold, .unlimited]) == .unlimited)
    }

    @Test func theLargerQuotaWinsBeforeTheRate() throws {
        let fastButSmall = try plan("fast", rate: perMinute100, quota: 1_000)
        let slowButLarge = try plan("slow", rate: perMinute10, quota: 50_000)
        #expect(AccessLimits.mostGenerous([fastButSmall, slowButLarge])?.plan?.name == "slow")
        let noQuota = try plan("open", rate: perMinute10, quota: nil)
        #expect(AccessLimits.mostGenerous([slowButLarge, noQuota])?.plan?.name == "open", "no quota beats any quota")
    }

    @Test func quotasOfDifferentPeriodsCompareByTheirAverage() throws {
        let daily = try plan("daily", rate: nil, quota: 1_000, period: .day)  // about 30 000 a month
        let monthly = try plan("monthly", rate: nil, quota: 20_000, period: .month)
        #expect(AccessLimits.mostGenerous([monthly, daily])?.plan?.name == "daily")
    }

    @Test func equalQuotasFallBackToTheLargerRate() throws {
        let slow = try plan("slow", rate: perMinute10, quota: 5_000)
        let fast = try plan("fast", rate: perMinute100, quota: 5_000)
        let unthrottled = try plan("unthrottled", rate: nil, quota: 5_000)
        #expect(AccessLimits.mostGenerous([slow, fast])?.plan?.name == "fast")
        #expect(AccessLimits.mostGenerous([fast, unthrottled])?.plan?.name == "unthrottled")
    }

    @Test func aGrantsOwnRateLimitReplacesThePlansButKeepsItsQuota() throws {
        let plan = CompiledPlan(
            id: UUID(), name: "gold", rateLimit: perMinute10, quota: try Quota(limit: 100, period: .day), bucket: .consumer)
        let limits = AccessLimits(grantRate: perMinute100, plan: plan)
        #expect(limits.rate == perMinute100)
        #expect(limits.quota?.limit == 100)
        #expect(limits.bucket == .consumer)
    }
}

@Suite struct QuotaAllowanceTests {
    let window = QuotaWindow(start: 0, end: 86_400)

    func admit(_ allowance: inout QuotaAllowance, degraded: Bool = false, replicas: Int = 1) -> QuotaDecision.Outcome {
        allowance.admit(limit: 40, period: .day, replicas: replicas, degraded: degraded, now: 100).outcome
    }

    @Test func theFirstCallsGoAheadOfALeaseAndTheNextWaitForOne() {
        var allowance = QuotaAllowance(window: window)
        // Before the first sync: a twentieth of the quota (40) may go ahead, so first calls do not wait.
        #expect([admit(&allowance), admit(&allowance)] == [.admitted, .admitted])
        #expect(admit(&allowance) == .renewing)
        let report = allowance.takeReport(limit: 40, replicas: 1)
        #expect(report == QuotaAllowance.Report(spent: 2, unreserve: 0, want: 6), "twice the three calls that came")
        allowance.synced(used: 2, reserved: 6, granted: 6, limit: 40)
        #expect((0..<6).map { _ in admit(&allowance) } == Array(repeating: .admitted, count: 6))
        #expect(admit(&allowance) == .admitted, "one call ahead of the lease while allowance is left")
        #expect(admit(&allowance) == .renewing)
    }

    @Test func theFirstSyncAfterAnOutageOnlyReports() {
        var allowance = QuotaAllowance(window: window)
        _ = admit(&allowance, degraded: true, replicas: 2)
        #expect(allowance.takeReport(limit: 40, replicas: 2, leasing: false) == QuotaAllowance.Report(spent: 1, unreserve: 0, want: 0))
    }

    @Test func aSpentQuotaIsExhaustedAndSaysWhenItStartsAgain() {
        var allowance = QuotaAllowance(window: window)
        _ = admit(&allowance)
        _ = allowance.takeReport(limit: 40, replicas: 1)
        allowance.synced(used: 40, reserved: 0, granted: 0, limit: 40)
        let decision = allowance.admit(limit: 40, period: .day, replicas: 1, degraded: false, now: 86_000)
        #expect(decision.outcome == .exhausted)
        #expect(decision.remaining == 0)
        #expect(decision.resetSeconds == 400)
        #expect(!allowance.isSettled, "an exhausted counter is kept until its period ends")
    }

    @Test func degradedEachReplicaSpendsItsShareOfWhatWasLeft() {
        var allowance = QuotaAllowance(window: window)
        _ = admit(&allowance)
        _ = allowance.takeReport(limit: 40, replicas: 3)
        allowance.synced(used: 10, reserved: 0, granted: 0, limit: 40)
        let admitted = (0..<20).filter { _ in admit(&allowance, degraded: true, replicas: 3) == .admitted }.count
        #expect(admitted == 10, "30 left, three replicas: ten each")
    }

    @Test func aFailedReportIsSentAgainAndAQuietLeaseIsHandedBack() {
        var allowance = QuotaAllowance(window: window)
        _ = admit(&allowance)
        _ = allowance.takeReport(limit: 40, replicas: 1)
        allowance.synced(used: 1, reserved: 4, granted: 4, limit: 40)
        _ = admit(&allowance)
        _ = admit(&allowance)
        let first = allowance.takeReport(limit: 40, replicas: 1)
        allowance.syncFailed()
        let again = allowance.takeReport(limit: 40, replicas: 1)
        #expect(first?.spent == 2 && again?.spent == 2 && again?.unreserve == 2)
        allowance.synced(used: 3, reserved: 2, granted: 0, limit: 40)
        var handedBack: QuotaAllowance.Report?
        for _ in 0..<QuotaAllowance.quietSyncsBeforeRelease { handedBack = allowance.takeReport(limit: 40, replicas: 1) ?? handedBack }
        #expect(handedBack == QuotaAllowance.Report(spent: 0, unreserve: 2, want: 0))
        #expect(allowance.leased == 0)
    }
}
