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
        var parser = StructuredFieldValueParser(Array((value ?? "").utf8))
        let list = try parser.parseListFieldValue()
        try #require(list.count == 1, "one policy in \(value ?? "nil")")
        guard case .item(let item) = list[0], case .string(let name) = item.bareItem else {
            Issue.record("not a string item: \(value ?? "nil")")
            return ("", [:])
        }
        var parameters: [String: Int] = [:]
        for (key, bare) in item.parameters {
            if case .integer(let number) = bare { parameters[key] = number }
        }
        return (name, parameters)
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
        #expect(try parsed(value).name == #"odd "name" \ ?"#)
    }
}
