import Foundation
import PorticoCore
import Testing

@testable import PorticoGateway

/// The portal's try-it passes at the gateway: a good pass admits its consumer in either mode, anything else is a 401
/// naming what is wrong with it.
@Suite struct TryItAdmissionTests {
    let fixture: DecisionFixture

    init() throws { fixture = try DecisionFixture() }

    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    func pass(api: UUID? = nil, user: UUID? = nil, caller: String = "ada", groups: [String] = ["orders"], expiresIn: Int64 = 30) -> TryItPass {
        TryItPass(
            userId: user ?? fixture.userId, consumerId: user ?? fixture.userId, caller: caller, apiId: api ?? fixture.orders.id, groups: groups,
            expiresAt: now + expiresIn)
    }

    func admit(_ text: String, mode snapshot: PolicySnapshot, path: String = "/orders") -> Admission {
        let request = request(path, headers: [(HeaderNames.porticoTryIt, text)])
        guard let api = snapshot.routes.match(path: request.path, host: request.authority) else { return .refused(.noRoute(path: path)) }
        switch snapshot.auth.mode {
        case .apiKey: return fixture.decider(snapshot).keys.admit(request, api: api, snapshot: snapshot, nowMillis: now * 1000)
        case .jwt:
            guard case .done(let admission) = fixture.decider(snapshot).tokens.admitNow(request, api: api, snapshot: snapshot, now: Double(now))
            else { return .refused(.authUnavailable) }
            return admission
        }
    }

    func reason(_ admission: Admission) -> String? {
        guard case .refused(.invalidCredential(let reason)) = admission else { return nil }
        return reason
    }

    @Test(arguments: [false, true]) func aPassAdmitsItsConsumerInItsGroupsInEitherMode(jwtMode: Bool) throws {
        let snapshot = try fixture.snapshot(jwt: jwtMode ? DecisionFixture.jwtSettings() : nil)
        let consumerId = UUID()
        let signed = fixture.passes.sign(
            TryItPass(
                userId: fixture.userId, consumerId: consumerId, caller: "ada", apiId: fixture.orders.id, groups: ["orders"], expiresAt: now + 30))
        guard case .admitted(let consumer, let changes) = admit(signed, mode: snapshot) else {
            Issue.record("the pass was not admitted")
            return
        }
        #expect(consumer.id == consumerId)
        #expect(consumer.groups == ["orders"])
        #expect(changes.removesAuthorization)
        #expect(changes.addedHeaders.contains { $0.name == HeaderNames.porticoUser && $0.value == "ada" })
        #expect(fixture.sink.keys.isEmpty)
    }

    @Test func aPassThatIsNotRightIsRefusedNamingWhy() throws {
        let snapshot = try fixture.snapshot()
        #expect(reason(admit(TryItPassSigner.random().sign(pass()), mode: snapshot)) == TryItPassRefusal.badSignature.description)
        #expect(reason(admit(fixture.passes.sign(pass(expiresIn: -1)), mode: snapshot)) == TryItPassRefusal.expired.description)
        #expect(reason(admit(fixture.passes.sign(pass(expiresIn: 3600)), mode: snapshot)) == TryItPassRefusal.tooLong.description)
        #expect(reason(admit("v1.nope", mode: snapshot)) == TryItPassRefusal.malformed.description)
        #expect(reason(admit(fixture.passes.sign(pass(api: fixture.legacy.id)), mode: snapshot)) == "the try-it pass is for another API")
        let disabled = try fixture.snapshot(disabled: true)
        #expect(reason(admit(fixture.passes.sign(pass()), mode: disabled)) == "the try-it pass's user is disabled")
    }

    @Test func aTamperedPassIsRefused() {
        let original = pass()
        let signed = fixture.passes.sign(original)
        var parts = signed.split(separator: ".").map(String.init)
        parts[6] = Base64URL.encode(Array(#"["orders","admins"]"#.utf8))
        #expect(fixture.passes.verify(parts.joined(separator: "."), now: now) == .failure(.badSignature))
        #expect(fixture.passes.verify(signed, now: now) == .success(original))
    }

    @Test func aGatewayWithoutAPortalAcceptsNoPass() throws {
        let snapshot = try fixture.snapshot()
        let request = request("/orders", headers: [(HeaderNames.porticoTryIt, fixture.passes.sign(pass()))])
        let admission = KeyAdmission(usage: fixture.sink, passes: TryItAdmission(signer: nil)).admit(
            request, api: fixture.orders, snapshot: snapshot, nowMillis: now * 1000)
        #expect(reason(admission) == "this gateway runs without a portal and accepts no try-it pass")
    }

    @Test func aRequestWithAKeyIsDecidedByTheKeyAndItsPassIsNeverRead() throws {
        let snapshot = try fixture.snapshot()
        let request = request(
            "/orders", headers: [("Authorization", "Bearer \(fixture.key.secret)"), (HeaderNames.porticoTryIt, "forged")])
        guard
            case .admitted(let consumer, _) = fixture.decider(snapshot).keys.admit(
                request, api: fixture.orders, snapshot: snapshot, nowMillis: now * 1000)
        else {
            Issue.record("the key was not admitted")
            return
        }
        #expect(consumer.id == fixture.userId)
    }
}
