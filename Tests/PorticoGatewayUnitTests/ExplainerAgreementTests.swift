import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore
import PorticoTestSupport
import Testing

@testable import PorticoGateway

/// The explainer runs the data plane's own decision: on every case here it must say what the gateway then does
/// with the same request, with the refusal's message on the step that failed. Each case is explained first and
/// then decided for real, so the explainer is also shown to count nothing.
@Suite struct ExplainerAgreementTests {
    let fixture: DecisionFixture

    init() throws { fixture = try DecisionFixture() }

    /// The refusals the decision makes (the others are the connection's: the request head, the body's size,
    /// the upstream's answer), which this table must each meet.
    static let decisionRefusals: Set<String> = [
        "policy_not_loaded", "no_route", "missing_credential", "invalid_token", "key_scope", "no_access", "operation_not_allowed", "claims_mismatch",
        "no_groups", "auth_unavailable", "jwks_unavailable", "rate_limited", "quota_exceeded", "quota_renewing", "rate_limit_unavailable",
    ]

    @Test func theExplainerAgreesWithTheGatewayOnEveryRefusal() async throws {
        var met: [String] = []
        let key = fixture.key.secret
        let apiKeyMode = fixture.decider(try fixture.snapshot())
        met.append(try await agreement(apiKeyMode, .GET, "/nowhere", key))
        met.append(try await agreement(apiKeyMode, .GET, "/orders/1", nil))
        met.append(try await agreement(apiKeyMode, .GET, "/orders/1", "not-a-key"))
        met.append(try await agreement(apiKeyMode, .GET, "/orders/1", SecretFormat.apiKey.generate().secret))
        met.append(try await agreement(apiKeyMode, .GET, "/closed/1", key))
        met.append(try await agreement(apiKeyMode, .GET, "/orders/1?page=2", key))
        met.append(try await agreement(apiKeyMode, .GET, "/legacy/a", key))
        met.append(try await agreement(fixture.decider(try fixture.snapshot(disabled: true)), .GET, "/orders/1", key))

        let scoped = fixture.decider(try fixture.snapshot(keyScopes: [fixture.legacy.id]))
        met.append(try await agreement(scoped, .GET, "/orders/1", key))
        met.append(try await agreement(scoped, .GET, "/legacy/1", key))

        let unloaded = GatewayDecider(
            policy: PolicyHolder(), limiter: RateLimiter(), quotas: QuotaCounter(), keys: apiKeyMode.keys, tokens: apiKeyMode.tokens, oidc: nil,
            rateLimitHeaders: .both, logger: Logger(label: "unit"))
        met.append(try await agreement(unloaded, .GET, "/orders/1", key))

        let filtered = fixture.decider(try fixture.snapshot(ordersFilter: OperationFilter(operations: ["GET /*"])))
        met.append(try await agreement(filtered, .GET, "/orders/1", key))
        met.append(try await agreement(filtered, .POST, "/orders/1", key))

        // A limit of one call: the explanation before the call must not spend it.
        let limited = fixture.decider(try fixture.snapshot(limit: try RateLimit(limit: 1, periodSeconds: 60)))
        met.append(try await agreement(limited, .GET, "/orders/1", key))
        met.append(try await agreement(limited, .GET, "/orders/1", key))

        let closed = CountingHealth(failMode: .closed)
        closed.setDegraded(true)
        let degraded = fixture.decider(
            try fixture.snapshot(limit: try RateLimit(limit: 5, periodSeconds: 60)), limiter: RateLimiter(store: .cluster, health: closed))
        met.append(try await agreement(degraded, .GET, "/orders/1", key))

        let plan = try CompiledPlan(id: UUID(), name: "bronze", rateLimit: nil, quota: Quota(limit: 1, period: .day), bucket: .consumerAPI)
        let quotas = QuotaCounter()
        let quoted = fixture.decider(try fixture.snapshot(plan: plan), quotas: quotas)
        met.append(try await agreement(quoted, .GET, "/orders/1", key))
        met.append(try await agreement(quoted, .GET, "/orders/1", key))
        let quotaKey = QuotaCounter.Key(plan: plan.id, consumer: fixture.userId, api: fixture.orders.id)
        _ = quotas.takeReports()
        let start = QuotaPeriod.day.window(containing: Int64(Date().timeIntervalSince1970)).start
        quotas.synced([QuotaCounter.PeriodKey(key: quotaKey, start: start): .init(used: 1, reserved: 0, granted: 0)])
        met.append(try await agreement(quoted, .GET, "/orders/1", key))

        let jwtMode = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings(), disabledExternalIds: ["grace"]))
        met.append(try await agreement(jwtMode, .GET, "/orders/1", try await DecisionFixture.token()))
        met.append(try await agreement(jwtMode, .GET, "/orders/1", nil))
        met.append(try await agreement(jwtMode, .GET, "/orders/1", key))
        met.append(try await agreement(jwtMode, .GET, "/orders/1", try await DecisionFixture.token(groups: [])))
        met.append(try await agreement(jwtMode, .GET, "/orders/1", try await DecisionFixture.token(subject: "grace")))
        met.append(try await agreement(jwtMode, .GET, "/closed/1", try await DecisionFixture.token()))
        met.append(
            try await agreement(
                jwtMode, .GET, "/orders/1", try await TestSigningKey.hmac(String(repeating: "x", count: 32)).sign(["sub": .string("ada")])))
        met.append(
            try await agreement(
                jwtMode, .GET, "/orders/1", try await DecisionFixture.token(extra: ["exp": .number(Date().timeIntervalSince1970 - 3600)])))
        met.append(
            try await agreement(
                jwtMode, .GET, "/orders/1", try await TestSigningKey.hmac(String(repeating: "k", count: 64), algorithm: "HS384").sign([:])))

        let expression = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings { $0.claims = "Equals(`tier`, `gold`)" }))
        met.append(try await agreement(expression, .GET, "/orders/1", try await DecisionFixture.token()))
        met.append(try await agreement(expression, .GET, "/orders/1", try await DecisionFixture.token(extra: ["tier": .string("gold")])))

        let noSecret = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings { $0.signingSecret = "env:UNIT_UNSET" }))
        met.append(try await agreement(noSecret, .GET, "/orders/1", try await DecisionFixture.token()))

        let provider = "https://idp-down.unit.example"
        let providers = fixture.decider(try fixture.snapshot(providers: [provider]))
        met.append(
            try await agreement(providers, .GET, "/orders/1", try await TestSigningKey.rsa().sign(["iss": .string(provider), "sub": .string("ada")])))

        let missing = Self.decisionRefusals.subtracting(met)
        #expect(missing.isEmpty, "refusals the table never met: \(missing.sorted())")
        #expect(met.contains("forwarded"))
        // The key was accepted on 12 real calls (refused or not after that); explaining the same calls marked none.
        #expect(fixture.sink.keys.count == 12)
        #expect(fixture.sink.sightings.count == 3, "only the three real calls whose token was admitted report its user")
    }

    @Test func anAccessRefusalNamesTheGroupsAndTheGrantsOnTheAPI() async throws {
        let explanation = try await explain(fixture.decider(try fixture.snapshot()), "/closed/1", fixture.key.secret)
        #expect(
            explanation.decision
                == .init(forwarded: false, status: 403, error: "no_access", message: "your groups hold no access grant for API 'closed'"))
        #expect(explanation.step(.route)?.detail.contains("API 'closed' matched; prefixes tried: /closed/1 (no API), /closed (closed)") == true)
        #expect(explanation.step(.credential)?.outcome == .passed)
        #expect(explanation.step(.credential)?.checks?.first?.detail.contains("key \(fixture.keyId.headerText) of user") == true)
        #expect(explanation.step(.access)?.detail.contains("the caller's groups are 'orders'") == true)
        #expect(explanation.step(.limits)?.outcome == .skipped)
        #expect(explanation.upstreamRequest == nil)
    }

    @Test func aForwardShowsTheWinningGrantTheLimitsAndTheRedactedUpstreamRequest() async throws {
        let decider = fixture.decider(
            try fixture.snapshot(
                limit: try RateLimit(limit: 10, periodSeconds: 60), jwt: DecisionFixture.jwtSettings { $0.claims = "Prefix(`sub`, `a`)" }))
        let token = try await DecisionFixture.token()
        let explanation = try await explain(decider, "/orders/7?q=1", token)
        #expect(explanation.decision.forwarded)
        let checks = explanation.step(.credential)?.checks?.map { "\($0.check):\($0.outcome.rawValue)" }
        #expect(
            checks == [
                "format:passed", "alg:passed", "key:passed", "signature:passed", "exp:passed", "nbf:passed", "iss:passed", "aud:passed",
                "claims mapping:passed", "claims expression:passed",
            ])
        #expect(explanation.step(.access)?.detail.contains("grant 'orders' wins") == true)
        #expect(explanation.step(.limits)?.detail.contains("X-RateLimit-Remaining: 9") == true)
        #expect(explanation.responseHeaders.contains(.init(name: "X-RateLimit-Limit", value: "10")))
        let upstream = try #require(explanation.upstreamRequest)
        #expect(upstream.method == "GET")
        #expect(upstream.url == "http://127.0.0.1:9/7?q=1")
        #expect(!upstream.headers.contains { $0.value.contains(token) }, "the credential never shows")
        #expect(upstream.headers.contains(.init(name: "X-Portico-User", value: "ada")))
        // Explaining counted nothing: the real call is the first of ten.
        let real = plan(await settled(decider.decide(request("/orders/7", headers: [("Authorization", "Bearer \(token)")]))))
        #expect(real?.responseHeaders.first(name: "x-ratelimit-remaining") == "9")
    }

    @Test func aFailingClaimsExpressionNamesThePartThatFailed() async throws {
        let decider = fixture.decider(
            try fixture.snapshot(
                jwt: DecisionFixture.jwtSettings { $0.claims = "Prefix(`sub`, `a`) && (Equals(`tier`, `gold`) || Equals(`tier`, `silver`))" }))
        let explanation = try await explain(decider, "/orders/1", try await DecisionFixture.token(extra: ["tier": .string("bronze")]))
        let check = explanation.step(.credential)?.checks?.last
        #expect(check?.check == "claims expression")
        #expect(check?.outcome == .failed)
        #expect(check?.detail.hasPrefix("Equals(`tier`, `gold`) || Equals(`tier`, `silver`) is not satisfied") == true)
    }

    @Test func anExpiredTokenFailsItsExpCheckAndTheRestIsSkipped() async throws {
        let decider = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings()))
        let token = try await DecisionFixture.token(extra: ["exp": .number(Date().timeIntervalSince1970 - 120)])
        let explanation = try await explain(decider, "/orders/1", token)
        #expect(explanation.decision.error == "invalid_token")
        #expect(explanation.step(.credential)?.checks?.first { $0.check == "exp" }?.outcome == .failed)
        #expect(explanation.step(.credential)?.checks?.first { $0.check == "exp" }?.detail == "the token has expired")
        #expect(explanation.step(.access)?.outcome == .skipped)
        #expect(explanation.responseHeaders.contains { $0.name == "WWW-Authenticate" })
    }

    @Test func aUserStandsInForACredential() async throws {
        let decider = fixture.decider(try fixture.snapshot())
        let caller = ExplainedCaller(id: UUID(), name: "ada@example.com", groups: ["guests"])
        let legacy = try await RequestExplainer(decider: decider).explain(
            ExplainRequest(method: "get", url: "http://gateway.example/legacy/x", caller: caller), defaultHost: "unused.example")
        #expect(legacy.decision.forwarded)
        #expect(legacy.step(.credential)?.outcome == .skipped)
        #expect(legacy.step(.credential)?.detail.contains("'ada@example.com'") == true)
        let orders = try await RequestExplainer(decider: decider).explain(
            ExplainRequest(method: "GET", url: "/orders/1", caller: caller), defaultHost: "gateway.example")
        #expect(orders.decision.error == "no_access")
    }

    @Test func badInputIsRefusedNamingTheField() async throws {
        let explainer = RequestExplainer(decider: fixture.decider(try fixture.snapshot()))
        for (input, field) in [
            (ExplainRequest(method: "GE T", url: "/orders"), "method"),
            (ExplainRequest(method: "GET", url: "ftp://x/orders"), "url"),
            (ExplainRequest(method: "GET", url: "/orders/a b"), "url"),
            (ExplainRequest(method: "GET", url: "/orders", credential: "a\r\nX-Evil: 1"), "credential"),
        ] {
            do {
                _ = try await explainer.explain(input, defaultHost: "gateway.example")
                Issue.record("\(input) was explained")
            } catch {
                guard case .invalid(let named, _) = error else { throw error }
                #expect(named == field)
            }
        }
    }

    private func explain(_ decider: GatewayDecider, _ uri: String, _ credential: String?) async throws -> Explanation {
        try await RequestExplainer(decider: decider).explain(
            ExplainRequest(method: "GET", url: uri, credential: credential), defaultHost: "gateway.example")
    }

    /// Explains, then decides for real, and checks the two agree; returns the refusal's code or `forwarded`.
    private func agreement(
        _ decider: GatewayDecider, _ method: HTTPMethod, _ uri: String, _ credential: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let explanation = try await RequestExplainer(decider: decider).explain(
            ExplainRequest(method: method.rawValue, url: uri, credential: credential), defaultHost: "gateway.example")
        let real = await settled(decider.decide(request(method, uri, headers: credential.map { [("Authorization", "Bearer \($0)")] } ?? [])))
        switch real {
        case .answer(let answer, _, _):
            let message = (try? JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any]).flatMap {
                ($0["message"] ?? $0["detail"]) as? String
            }
            #expect(
                explanation.decision == .init(forwarded: false, status: Int(answer.status.code), error: answer.code, message: message),
                "\(method) \(uri)", sourceLocation: sourceLocation)
            let failed = explanation.steps.filter { $0.outcome == .failed }
            #expect(failed.count == 1, "one step fails: \(explanation.steps)", sourceLocation: sourceLocation)
            #expect(failed.first?.detail.contains(message ?? "?") == true, "\(failed)", sourceLocation: sourceLocation)
            return answer.code ?? "?"
        case .forward(let plan):
            #expect(explanation.decision.forwarded, "\(method) \(uri): \(explanation.decision)", sourceLocation: sourceLocation)
            #expect(explanation.upstreamRequest?.url == plan.api.upstream.origin + plan.head.sent.uri, sourceLocation: sourceLocation)
            #expect(explanation.steps.allSatisfy { $0.outcome == .passed }, "\(explanation.steps)", sourceLocation: sourceLocation)
            return "forwarded"
        default:
            Issue.record("the real decision did not settle: \(real)", sourceLocation: sourceLocation)
            return "?"
        }
    }
}
