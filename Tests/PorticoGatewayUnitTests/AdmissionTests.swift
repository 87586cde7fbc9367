import Foundation
import PorticoCore
import Testing

@testable import PorticoGateway

/// Who a request is, in each mode, and what JWT mode's strictness makes of a missing or bad token.
@Suite struct AdmissionTests {
    let fixture: DecisionFixture

    init() throws { fixture = try DecisionFixture() }

    func consumer(_ admission: Admission) -> Consumer? {
        guard case .admitted(let consumer, _) = admission else { return nil }
        return consumer
    }

    func refusal(_ admission: Admission) -> GatewayError? {
        guard case .refused(let error) = admission else { return nil }
        return error
    }

    @Test func aKeyIsItsOwnersGroupsAndItsUseIsReported() throws {
        let admission = KeyAdmission(usage: fixture.sink).admit(
            request("/orders", headers: [("Authorization", "bearer \(fixture.key.secret)")]), snapshot: try fixture.snapshot(), nowMillis: 0)
        #expect(consumer(admission)?.id == fixture.userId)
        #expect(consumer(admission)?.groups == ["orders"])
        #expect(fixture.sink.keys == [fixture.keyId])
    }

    @Test func aMalformedKeyIsRefusedAndNothingIsReported() throws {
        let admission = KeyAdmission(usage: fixture.sink).admit(
            request("/orders", headers: [("Authorization", "Bearer nope")]), snapshot: try fixture.snapshot(), nowMillis: 0)
        guard case .invalidCredential(let reason)? = refusal(admission) else {
            Issue.record("expected an invalid credential, got \(admission)")
            return
        }
        #expect(reason == "the API key is malformed")
        #expect(fixture.sink.keys.isEmpty)
    }

    /// JWT mode's admission of `request` on `snapshot`, verification included.
    func admit(_ request: GatewayRequest, on snapshot: PolicySnapshot) async -> Admission {
        await fixture.decider(snapshot).tokens.admit(request, snapshot: snapshot, now: Date().timeIntervalSince1970, logger: .init(label: "unit"))
    }

    @Test func strictModeRefusesARequestWithoutAToken() async throws {
        let snapshot = try fixture.snapshot(jwt: DecisionFixture.jwtSettings())
        let admission = await admit(request("/orders"), on: snapshot)
        guard case .missingCredential? = refusal(admission) else {
            Issue.record("expected a missing credential, got \(admission)")
            return
        }
    }

    @Test func optionalModeLetsARequestWithoutATokenInAsTheAnonymousGroup() async throws {
        let snapshot = try fixture.snapshot(
            jwt: DecisionFixture.jwtSettings {
                $0.strictness = .optional
                $0.anonymousGroup = "guests"
            })
        let admission = await admit(request("/orders"), on: snapshot)
        #expect(consumer(admission)?.groups == ["guests"])
        #expect(fixture.sink.sightings.isEmpty)
    }

    @Test func permissiveModeLetsABadTokenInAsTheAnonymousGroupButOptionalDoesNot() async throws {
        let bad = request("/orders", headers: [("Authorization", "Bearer not.a.token")])
        let permissive = try fixture.snapshot(
            jwt: DecisionFixture.jwtSettings {
                $0.strictness = .permissive
                $0.anonymousGroup = "guests"
            })
        let admitted = await admit(bad, on: permissive)
        #expect(consumer(admitted)?.groups == ["guests"])
        let optional = try fixture.snapshot(jwt: DecisionFixture.jwtSettings { $0.strictness = .optional })
        let refused = await admit(bad, on: optional)
        guard case .invalidCredential? = refusal(refused) else {
            Issue.record("optional mode let a bad token in: \(refused)")
            return
        }
    }

    @Test func claimsBecomeForwardedHeadersButNeverALineBreak() async throws {
        let snapshot = try fixture.snapshot(
            jwt: DecisionFixture.jwtSettings {
                $0.forwardHeaders = ["X-User-Email": "email", "X-Team": "team"]
                $0.stripAuthorizationHeader = true
            })
        let token = try await DecisionFixture.token(extra: ["team": .string("red\r\nX-Admin: yes")])
        let admission = await admit(
            request("/orders", headers: [("Authorization", "Bearer \(token)"), ("X-User-Email", "spoofed@example.com")]), on: snapshot)
        guard case .admitted(let consumer, let changes) = admission else {
            Issue.record("expected the token to be admitted, got \(admission)")
            return
        }
        #expect(consumer.id == JWTPrincipal(userId: "ada", email: nil, tokenName: nil, groups: []).consumerId)
        #expect(changes.addedHeaders.map(\.name) == ["X-User-Email"], "the claim with a line break is not forwarded")
        #expect(changes.addedHeaders.first?.value == "ada@example.com")
        #expect(changes.removedHeaders.isSuperset(of: ["authorization", "x-user-email", "x-team"]))
    }
}
