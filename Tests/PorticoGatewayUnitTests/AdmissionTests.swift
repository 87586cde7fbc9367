import Foundation
import PorticoCore
import PorticoTestSupport
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
        let admission = KeyAdmission(usage: fixture.sink, passes: fixture.tryIt).admit(
            request("/orders", headers: [("Authorization", "bearer \(fixture.key.secret)")]), api: fixture.orders, snapshot: try fixture.snapshot(),
            nowMillis: 0)
        #expect(consumer(admission)?.id == fixture.userId)
        #expect(consumer(admission)?.groups == ["orders"])
        #expect(fixture.sink.keys == [fixture.keyId])
    }

    @Test func aMalformedKeyIsRefusedAndNothingIsReported() throws {
        let admission = KeyAdmission(usage: fixture.sink, passes: fixture.tryIt).admit(
            request("/orders", headers: [("Authorization", "Bearer nope")]), api: fixture.orders, snapshot: try fixture.snapshot(), nowMillis: 0)
        guard case .invalidCredential(let reason)? = refusal(admission) else {
            Issue.record("expected an invalid credential, got \(admission)")
            return
        }
        #expect(reason == "the API key is malformed")
        #expect(fixture.sink.keys.isEmpty)
    }

    /// JWT mode's admission of `request` on `snapshot`, verification included.
    func admit(_ request: GatewayRequest, on snapshot: PolicySnapshot) async -> Admission {
        guard let api = snapshot.routes.match(path: request.path, host: request.authority) else {
            Issue.record("no API matches \(request.path)")
            return .refused(.noRoute(path: String(request.path)))
        }
        return await fixture.decider(snapshot).tokens.admit(
            request, api: api, snapshot: snapshot, now: Date().timeIntervalSince1970, logger: .init(label: "unit"))
    }

    /// The reason of an invalid-credential refusal, or a recorded issue.
    func invalidReason(_ admission: Admission) -> String? {
        guard case .invalidCredential(let reason)? = refusal(admission) else {
            Issue.record("expected an invalid credential, got \(admission)")
            return nil
        }
        return reason
    }

    static let partner = "https://partner.unit.example"
    static let corporate = "https://corp.unit.example"

    @Test func anAPINarrowedToOneProviderRefusesAnotherTrustedProvidersTokenNamingTheIssuersItAccepts() async throws {
        let snapshot = try fixture.snapshot(providers: [Self.partner, Self.corporate], ordersIssuers: [Self.corporate])
        let token = try await DecisionFixture.token(issuer: Self.partner)
        let admission = await admit(request("/orders", headers: [("Authorization", "Bearer \(token)")]), on: snapshot)
        #expect(invalidReason(admission) == "API 'orders' accepts only tokens issued by '\(Self.corporate)'")
    }

    @Test func anAPINarrowedToProvidersRefusesTokensOfTheJWTSettingsOwnKeys() async throws {
        let snapshot = try fixture.snapshot(jwt: DecisionFixture.jwtSettings(), providers: [Self.partner], ordersIssuers: [Self.partner])
        let token = try await DecisionFixture.token()
        let narrowed = await admit(request("/orders", headers: [("Authorization", "Bearer \(token)")]), on: snapshot)
        #expect(invalidReason(narrowed) == "API 'orders' accepts only tokens issued by '\(Self.partner)'")
        guard case .admitted = await admit(request("/legacy", headers: [("Authorization", "Bearer \(token)")]), on: snapshot) else {
            Issue.record("an API that is not narrowed still accepts the JWT settings' tokens")
            return
        }
    }

    @Test func withoutJWTSettingsOnlyTrustedProvidersIssuersAreKnown() async throws {
        let snapshot = try fixture.snapshot(providers: [Self.partner])
        #expect(snapshot.auth.jwt?.keySource == nil)
        let stranger = try await DecisionFixture.token(issuer: "https://elsewhere.example")
        let unknown = await admit(request("/legacy", headers: [("Authorization", "Bearer \(stranger)")]), on: snapshot)
        #expect(invalidReason(unknown) == "the token's issuer 'https://elsewhere.example' is unknown")
        let claims: [String: JSONValue] = ["sub": .string("ada"), "groups": .array([.string("orders")])]
        let unsigned = try await TestSigningKey.hmac(DecisionFixture.secret).sign(claims)
        let anonymous = await admit(request("/legacy", headers: [("Authorization", "Bearer \(unsigned)")]), on: snapshot)
        #expect(invalidReason(anonymous) == "the token names no issuer (iss) that this gateway trusts")
        let key = await admit(request("/legacy", headers: [("Authorization", "Bearer \(fixture.key.secret)")]), on: snapshot)
        #expect(invalidReason(key) == GatewayError.apiKeyInJWTMode)
    }

    @Test func aTrustedProvidersTokenIsVerifiedWithItsKeysAndAnUnreachableKeySetIs503() async throws {
        let snapshot = try fixture.snapshot(providers: [Self.partner], ordersIssuers: [Self.partner])
        let claims: [String: JSONValue] = [
            "sub": .string("ada"), "iss": .string(Self.partner), "aud": .string("portico"), "exp": .number(Date().timeIntervalSince1970 + 60),
        ]
        let token = try await TestSigningKey.rsa("RS256").sign(claims)
        let admission = await admit(request("/orders", headers: [("Authorization", "Bearer \(token)")]), on: snapshot)
        guard case .jwksUnavailable(let provider)? = refusal(admission) else {
            Issue.record("expected the provider's unreachable keys to be a 503, got \(admission)")
            return
        }
        #expect(provider == "partner-unit-example")
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
        #expect(
            changes.addedHeaders.map(\.name) == ["X-User-Email", "X-Portico-User", "X-Portico-Groups"], "the claim with a line break is not forwarded"
        )
        #expect(changes.addedHeaders.first?.value == "ada@example.com")
        #expect(changes.removesAuthorization)
        #expect(changes.removedHeaders.isSuperset(of: ["x-user-email", "x-team"]))
    }
}
