import Foundation
import NIOCore
import NIOHTTP1
import PorticoCore
import Testing

@testable import PorticoGateway

/// The whole decision, route → credential → access → limit → forward plan, on a hand-built snapshot.
@Suite struct GatewayDeciderTests {
    let fixture: DecisionFixture

    init() throws { fixture = try DecisionFixture() }

    @Test func beforeTheFirstSnapshotEveryRequestIs503() {
        let decider = GatewayDecider(
            policy: PolicyHolder(), limiter: RateLimiter(), quotas: QuotaCounter(), keys: KeyAdmission(usage: fixture.sink, passes: fixture.tryIt),
            tokens: fixture.decider(.empty).tokens, oidc: nil, rateLimitHeaders: .both, logger: .init(label: "unit"))
        let refused = answer(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")])))
        #expect(refused?.status == .serviceUnavailable)
        #expect(refused?.code == "policy_not_loaded")
    }

    @Test func aPathNoAPIClaimsIs404() throws {
        let refused = answer(fixture.decider(try fixture.snapshot()).decide(request("/nowhere")))
        #expect(refused?.status == .notFound)
        #expect(refused?.code == "no_route")
    }

    @Test func aGrantedKeyIsForwardedWithThePrefixStrippedAndItsUseReported() throws {
        let decision = fixture.decider(try fixture.snapshot()).decide(
            request("/orders/42?page=2", headers: [("Authorization", "Bearer \(fixture.key.secret)")]))
        guard let plan = plan(decision) else { return }
        #expect(plan.api.id == fixture.orders.id)
        #expect(plan.head.sent.uri == "/42?page=2")
        #expect(plan.head.sent.headers.first(name: "host") == "127.0.0.1:9")
        #expect(plan.head.sent.headers.first(name: "x-forwarded-for") == "192.0.2.7")
        #expect(plan.head.sent.headers.first(name: "x-forwarded-host") == "gateway.example")
        #expect(plan.responseHeaders.map(\.name) == [HeaderNames.requestId], "an unlimited grant adds no rate-limit headers")
        #expect(plan.head.sent.headers.first(name: "x-request-id") == plan.responseHeaders.first(name: HeaderNames.requestId))
        #expect(fixture.sink.keys == [fixture.keyId])
    }

    @Test func noCredentialIs401WithABearerChallenge() throws {
        let refused = answer(fixture.decider(try fixture.snapshot()).decide(request("/orders/1")))
        #expect(refused?.status == .unauthorized)
        #expect(refused?.headers.first(name: "www-authenticate") == #"Bearer realm="portico""#)
        #expect(fixture.sink.keys.isEmpty)
    }

    @Test func anUnknownKeyIs401NamingTheReason() throws {
        let other = SecretFormat.apiKey.generate().secret
        let refused = answer(fixture.decider(try fixture.snapshot()).decide(request("/orders/1", headers: [("Authorization", "Bearer \(other)")])))
        #expect(refused?.status == .unauthorized)
        #expect(refused?.headers.first(name: "www-authenticate")?.contains(#"error_description="the API key is unknown or revoked""#) == true)
    }

    @Test func aKeyOfADisabledUserIs401() throws {
        let refused = answer(
            fixture.decider(try fixture.snapshot(disabled: true)).decide(
                request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")])))
        #expect(refused?.status == .unauthorized)
        #expect(fixture.sink.keys.isEmpty)
    }

    @Test func anAPIWithoutAGrantForTheConsumersGroupsIs403() throws {
        let refused = answer(
            fixture.decider(try fixture.snapshot()).decide(request("/closed/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")])))
        #expect(refused?.status == .forbidden)
        #expect(refused?.code == "no_access")
    }

    @Test func theLimitIsAnnouncedThenEnforcedWithRetryAfter() throws {
        let decider = fixture.decider(try fixture.snapshot(limit: try RateLimit(limit: 1, periodSeconds: 60)))
        let call = request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")])
        guard let first = plan(decider.decide(call)) else { return }
        #expect(first.responseHeaders.first(name: "x-ratelimit-limit") == "1")
        #expect(first.responseHeaders.first(name: "x-ratelimit-remaining") == "0")
        #expect(first.responseHeaders.first(name: "x-ratelimit-period") == "60")
        let refused = answer(decider.decide(call))
        #expect(refused?.status == .tooManyRequests)
        #expect(refused?.code == "rate_limited")
        #expect(Int(refused?.headers.first(name: "retry-after") ?? "") ?? 0 > 0)
        #expect(refused?.headers.first(name: "x-ratelimit-remaining") == "0")
    }

    @Test func aDeprecatedAPIIsForwardedWithADeprecationHeader() throws {
        let decision = fixture.decider(try fixture.snapshot()).decide(
            request("/legacy/a", headers: [("Authorization", "Bearer \(fixture.key.secret)")]))
        guard let plan = plan(decision) else { return }
        #expect(plan.head.sent.uri == "/legacy/a", "the prefix is kept when the API does not strip it")
        #expect(plan.responseHeaders.first(name: "deprecation") == "true")
    }

    @Test func aValidTokenIsVerifiedThenForwardedAndItsUserReported() async throws {
        let decider = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings()))
        let token = try await DecisionFixture.token()
        let first = decider.decide(request("/orders/7", headers: [("Authorization", "Bearer \(token)")]))
        guard case .later = first else {
            Issue.record("a first token needs verifying before the decision, got \(first)")
            return
        }
        guard let verified = plan(await settled(first)) else { return }
        #expect(verified.head.sent.uri == "/7")
        #expect(fixture.sink.sightings.map(\.externalId) == ["ada"])
        #expect(fixture.sink.sightings.first?.email == "ada@example.com")
        // The same token again is decided at once, from the verified-token memory.
        #expect(plan(decider.decide(request("/orders/8", headers: [("Authorization", "Bearer \(token)")])))?.head.sent.uri == "/8")
    }

    @Test func anAPIKeyInJWTModeIs401SayingKeysAreOff() async throws {
        let decider = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings()))
        let refused = answer(await settled(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")]))))
        #expect(refused?.status == .unauthorized)
        #expect(refused?.headers.first(name: "www-authenticate")?.contains("API keys are turned off") == true)
    }

    @Test func aTokenWithoutGroupsIs403NamingTheClaim() async throws {
        let decider = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings()))
        let token = try await DecisionFixture.token(groups: [])
        let refused = answer(await settled(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(token)")]))))
        #expect(refused?.status == .forbidden)
        #expect(refused?.code == "no_groups")
    }

    @Test func aTokenOfADisabledUserIs401() async throws {
        let decider = fixture.decider(try fixture.snapshot(jwt: DecisionFixture.jwtSettings(), disabledExternalIds: ["ada"]))
        let token = try await DecisionFixture.token()
        let refused = answer(await settled(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(token)")]))))
        #expect(refused?.status == .unauthorized)
        #expect(fixture.sink.sightings.isEmpty)
    }

    @Test func aFormTokenSourceAsksForTheBodyFirst() async throws {
        let settings = DecisionFixture.jwtSettings { $0.tokenSources = .init(header: nil, form: "access_token") }
        let decider = fixture.decider(try fixture.snapshot(jwt: settings))
        var post = request(.POST, "/orders/1", headers: [("Content-Type", "application/x-www-form-urlencoded")])
        guard case .readFormBody = decider.decide(post) else {
            Issue.record("expected the decider to ask for the form body")
            return
        }
        post.formBody = ByteBuffer(string: "a=1&access_token=\(try await DecisionFixture.token())")
        #expect(plan(await settled(decider.decide(post)))?.head.sent.uri == "/1")
    }
}
