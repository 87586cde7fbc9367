import Foundation
import NIOHTTP1
import PorticoCore
import RawStructuredFieldValues
import Testing

@testable import PorticoGateway

/// The IETF draft's `RateLimit-Policy` and `RateLimit` fields, read back with a structured-field parser
/// Portico did not write (swift-http-structured-headers).
@Suite struct RateLimitFieldTests {
    let fixture = try! DecisionFixture()

    /// The one list member of `value`: its string and integer parameters; a syntax error fails the test.
    func parsed(_ value: String?) throws -> (name: String, parameters: [String: Int]) {
        let members = try parsedList(value)
        try #require(members.count == 1, "one policy in \(value ?? "nil")")
        return members[0]
    }

    /// Every member of `value`: each string with its integer parameters; a syntax error fails the test.
    func parsedList(_ value: String?) throws -> [(name: String, parameters: [String: Int])] {
        var parser = StructuredFieldValueParser(Array((value ?? "").utf8))
        return try parser.parseListFieldValue().map { member in
            guard case .item(let item) = member, case .string(let name) = item.bareItem else {
                Issue.record("not a string item: \(value ?? "nil")")
                return ("", [:])
            }
            var parameters: [String: Int] = [:]
            for (key, bare) in item.parameters {
                if case .integer(let number) = bare { parameters[key] = number }
            }
            return (name, parameters)
        }
    }

    /// The orders grant on plan "gold": 3 calls a minute and `quota` calls a day.
    func goldPlan(quota: Int) throws -> CompiledPlan {
        CompiledPlan(
            id: UUID(), name: "gold", rateLimit: try RateLimit(limit: 3, periodSeconds: 60), quota: try Quota(limit: quota, period: .day),
            bucket: .consumerAPI)
    }

    func call() -> GatewayRequest { request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")]) }

    @Test func theIETFFieldsNameTheGrantsPolicyWithItsQuotaWindowRemainingAndReset() throws {
        let decider = fixture.decider(try fixture.snapshot(limit: try RateLimit(limit: 3, periodSeconds: 60)))
        let headers = try #require(plan(decider.decide(call()))).responseHeaders
        let policy = try parsed(headers.first(name: "ratelimit-policy"))
        #expect(policy.name == "orders-rate")
        #expect(policy.parameters == ["q": 3, "w": 60])
        let state = try parsed(headers.first(name: "ratelimit"))
        #expect(state.name == "orders-rate")
        #expect(state.parameters == ["r": 2, "t": 20], "one of three used: full again in a third of the minute")
        #expect(headers.first(name: "x-ratelimit-remaining") == "2", "both styles by default")
    }

    @Test func eachStyleSendsItsFieldsOnly() throws {
        let snapshot = try fixture.snapshot(limit: try RateLimit(limit: 3, periodSeconds: 60))
        for style in RateLimitHeaderStyle.allCases {
            let headers = try #require(plan(fixture.decider(snapshot, rateLimitHeaders: style).decide(call()))).responseHeaders
            #expect(headers.contains(name: "x-ratelimit-limit") == (style == .x || style == .both), "\(style)")
            #expect(headers.contains(name: "ratelimit-policy") == (style == .ietf || style == .both), "\(style)")
            #expect(headers.contains(name: "ratelimit") == (style == .ietf || style == .both), "\(style)")
        }
    }

    @Test func aRateLimited429NamesTheViolatedPolicy() throws {
        let decider = fixture.decider(try fixture.snapshot(limit: try RateLimit(limit: 1, periodSeconds: 60)))
        _ = decider.decide(call())
        let refused = try #require(answer(decider.decide(call())))
        #expect(refused.status == .tooManyRequests)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(refused.body.readableBytesView)) as? [String: Any])
        #expect(body["violated-policies"] as? [String] == ["orders-rate"])
        #expect(body["error"] as? String == "rate_limited")
        let state = try parsed(refused.headers.first(name: "ratelimit"))
        #expect(state.parameters["r"] == 0)
    }

    @Test func aClusterStoreFailingClosedRefusesRateLimitedGrantsWhileItCannotCount() throws {
        let snapshot = try fixture.snapshot(limit: try RateLimit(limit: 3, periodSeconds: 60))
        for mode in RateLimitFailMode.allCases {
            let limiter = RateLimiter(store: .cluster, failMode: mode)
            limiter.health.setDegraded(true)
            let decision = fixture.decider(snapshot, limiter: limiter).decide(call())
            switch mode {
            case .open: #expect(plan(decision) != nil, "open: this replica's share")
            case .closed:
                let refused = try #require(answer(decision))
                #expect(refused.status == .serviceUnavailable && refused.code == "rate_limit_unavailable")
                #expect(refused.headers.first(name: "retry-after") == "1")
            }
            limiter.health.setDegraded(false)
            #expect(plan(fixture.decider(snapshot, limiter: limiter).decide(call())) != nil, "\(mode), counting again")
        }
    }

    @Test func policyNamesAreEscapedAsStructuredFieldStrings() throws {
        let (decision, _) = GCRA.decide(tat: nil, now: 0, limit: try RateLimit(limit: 5, periodSeconds: 60))
        let value = RateLimitFields.policy([.rate(#"odd "name" \ é"#, decision)])
        #expect(try parsed(value).name == #"odd "name" \ ?-rate"#)
    }

    @Test func aPlanWithARateAndAQuotaListsBothPoliciesAndNamesTheOneClosestToExhaustion() throws {
        let gold = try goldPlan(quota: 1_000)
        let decider = fixture.decider(try fixture.snapshot(plan: gold))
        let headers = try #require(plan(decider.decide(call()))).responseHeaders
        let policies = try parsedList(headers.first(name: "ratelimit-policy"))
        #expect(policies.map(\.name) == ["gold-rate", "gold-quota"])
        #expect(policies.map(\.parameters) == [["q": 3, "w": 60], ["q": 1_000, "w": 86_400]])
        let state = try parsedList(headers.first(name: "ratelimit"))
        #expect(state.map(\.name) == ["gold-rate"], "two thirds of the rate left, nearly all of the quota")
        #expect(headers.first(name: "x-quota-limit") == "1000")
        #expect(headers.first(name: "x-quota-remaining") == "999")
    }

    @Test func aSpentQuotaIs429ProblemDetailsWithRetryAfterAtThePeriodsEnd() throws {
        let gold = try goldPlan(quota: 40)
        let quotas = QuotaCounter()
        let decider = fixture.decider(try fixture.snapshot(plan: gold), quotas: quotas)
        _ = try #require(plan(decider.decide(call())))
        // The database says the other replicas spent the rest.
        let reports = quotas.takeReports()
        try #require(reports.count == 1)
        let key = QuotaCounter.PeriodKey(key: reports[0].key, start: reports[0].window.start)
        quotas.synced([key: QuotaCounter.Totals(used: 40, reserved: 0, granted: 0)])

        let refused = try #require(answer(decider.decide(call())))
        #expect(refused.status == .tooManyRequests)
        #expect(refused.headers.first(name: "content-type") == "application/problem+json")
        let secondsToMidnight = 86_400 - Int(Date().timeIntervalSince1970) % 86_400
        let retryAfter = try #require(refused.headers.first(name: "retry-after").flatMap { Int($0) })
        #expect(abs(retryAfter - secondsToMidnight) <= 2)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(refused.body.readableBytesView)) as? [String: Any])
        #expect(body["type"] as? String == "https://iana.org/assignments/http-problem-types#quota-exceeded")
        #expect(body["status"] as? Int == 429)
        #expect(body["violated-policies"] as? [String] == ["gold-quota"])
        #expect(body["error"] as? String == "quota_exceeded")
        let state = try parsedList(refused.headers.first(name: "ratelimit"))
        #expect(state.first?.name == "gold-quota" && state.first?.parameters["r"] == 0)
    }

    @Test func aCallTheRateLimitRefusesSpendsNoQuota() throws {
        let quotas = QuotaCounter()
        let decider = fixture.decider(try fixture.snapshot(plan: try goldPlan(quota: 1_000)), quotas: quotas)
        _ = try #require(plan(decider.decide(call())))
        let first = quotas.takeReports()
        try #require(first.count == 1)
        quotas.synced([
            QuotaCounter.PeriodKey(key: first[0].key, start: first[0].window.start): QuotaCounter.Totals(used: 1, reserved: 10, granted: 10)
        ])
        for _ in 0..<4 { _ = decider.decide(call()) }
        let reports = quotas.takeReports()
        #expect(reports.map(\.content.spent) == [2], "two more admitted by the rate limit (3 a minute), two refused before the quota")
    }

    @Test func aConsumerBucketSharesOneCounterAcrossThePlansAPIs() throws {
        let shared = CompiledPlan(
            id: UUID(), name: "shared", rateLimit: nil, quota: try Quota(limit: 100, period: .month), bucket: .consumer)
        let quotas = QuotaCounter()
        let decider = fixture.decider(try fixture.snapshot(plan: shared), quotas: quotas)
        _ = try #require(plan(decider.decide(call())))
        let key = QuotaCounter.Key(plan: shared.id, consumer: fixture.userId, api: nil)
        #expect(quotas.allowance(key) != nil)
        #expect(key.bucket == "\(shared.id.uuidString)/\(fixture.userId.uuidString)")
    }
}
