import Foundation
import PorticoCore
import Testing

@testable import PorticoGateway

/// A rotated key and its successor both work until the overlap ends, read on a test clock rather than waited
/// for; a scoped key is refused outside its APIs, naming them.
@Suite struct KeyRotationAndScopeTests {
    let fixture: DecisionFixture

    init() throws { fixture = try DecisionFixture() }

    @Test func bothKeysWorkUntilTheOverlapEndsThenOnlyTheNewOne() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let overlap = 3_600
        let oldExpiry = KeyRotation.oldKeyExpiry(current: nil, now: now, overlapSeconds: overlap)
        let successor = SecretFormat.apiKey.generate()
        let successorId = UUID()
        let snapshot = try fixture.snapshot(
            keyExpiresAtMillis: Int64(oldExpiry.timeIntervalSince1970 * 1000),
            otherKeys: [
                successor.hash: KeyGrant(keyId: successorId, userId: fixture.userId, expiresAtMillis: nil, applicationId: fixture.applicationId)
            ])
        var decider = fixture.decider(snapshot)
        let clock = TestClock(now.timeIntervalSince1970)
        decider.clock = { clock.seconds }

        for seconds in [0, 1_800, overlap - 1] {
            clock.seconds = now.timeIntervalSince1970 + Double(seconds)
            #expect(
                plan(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")]))) != nil,
                "old key at +\(seconds) s")
            #expect(
                plan(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(successor.secret)")]))) != nil,
                "new key at +\(seconds) s")
        }
        clock.seconds = now.timeIntervalSince1970 + Double(overlap) + 0.001
        let refused = answer(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(fixture.key.secret)")])))
        #expect(refused?.status == .unauthorized)
        #expect(refused?.reason == "the API key has expired")
        #expect(plan(decider.decide(request("/orders/1", headers: [("Authorization", "Bearer \(successor.secret)")]))) != nil)
    }

    @Test func aScopedKeyIsRefusedOutsideItsScopesNamingThem() throws {
        let decider = fixture.decider(try fixture.snapshot(keyScopes: [fixture.legacy.id]))
        let key = [("Authorization", "Bearer \(fixture.key.secret)")]
        #expect(plan(decider.decide(request("/legacy/a", headers: key))) != nil)
        let refused = answer(decider.decide(request("/orders/1", headers: key)))
        #expect(refused?.status == .forbidden)
        #expect(refused?.code == "key_scope")
        #expect(refused?.reason == "this API key is scoped to API 'legacy' and does not cover API 'orders'")
        // The usage records count the call under the key's application.
        guard let forwarded = plan(decider.decide(request("/legacy/b", headers: key))) else { return }
        #expect(forwarded.caller.application == fixture.applicationId)
    }

    @Test func theRotationArithmetic() throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(KeyRotation.oldKeyExpiry(current: nil, now: now, overlapSeconds: 60) == now.addingTimeInterval(60))
        #expect(
            KeyRotation.oldKeyExpiry(current: now.addingTimeInterval(10), now: now, overlapSeconds: 60) == now.addingTimeInterval(10), "never later")
        let created = now.addingTimeInterval(-10 * 86_400)
        #expect(
            KeyRotation.newKeyExpiry(oldCreated: created, oldExpires: created.addingTimeInterval(30 * 86_400), now: now, policy: KeyPolicy())
                == now.addingTimeInterval(30 * 86_400), "the same lifetime, from now")
        #expect(KeyRotation.newKeyExpiry(oldCreated: created, oldExpires: nil, now: now, policy: KeyPolicy()) == nil)
        #expect(
            KeyRotation.newKeyExpiry(oldCreated: created, oldExpires: nil, now: now, policy: KeyPolicy(maxKeyLifetimeDays: 7))
                == now.addingTimeInterval(7 * 86_400), "within the policy")
        #expect(throws: PorticoError.self) { try KeyRotation.checkedOverlap(-1) }
        #expect(throws: PorticoError.self) { try KeyRotation.checkedOverlap(91 * 86_400) }
        #expect(try KeyRotation.checkedOverlap(nil) == 7 * 86_400)
    }

    @Test func theKeyPolicyAndTheExpiryWarning() throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        try KeyPolicy().check(expiresAt: nil, now: now)
        #expect(throws: PorticoError.self) { try KeyPolicy(requireExpiry: true).check(expiresAt: nil, now: now) }
        let capped = KeyPolicy(maxKeyLifetimeDays: 30)
        #expect(throws: PorticoError.self) { try capped.check(expiresAt: nil, now: now) }
        #expect(throws: PorticoError.self) { try capped.check(expiresAt: now.addingTimeInterval(31 * 86_400), now: now) }
        try capped.check(expiresAt: now.addingTimeInterval(30 * 86_400), now: now)
        #expect(throws: PorticoError.self) { try KeyPolicy().check(expiresAt: now, now: now) }
        #expect(throws: PorticoError.self) { try KeyPolicy(maxKeyLifetimeDays: 0).validated() }
        #expect(KeyExpiry.daysLeftToWarn(expiresAt: now.addingTimeInterval(15 * 86_400), now: now) == nil)
        #expect(KeyExpiry.daysLeftToWarn(expiresAt: now.addingTimeInterval(13.5 * 86_400), now: now) == 14)
        #expect(KeyExpiry.daysLeftToWarn(expiresAt: now.addingTimeInterval(3_600), now: now) == 1)
        #expect(KeyExpiry.daysLeftToWarn(expiresAt: now.addingTimeInterval(-1), now: now) == nil)
    }
}

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double

    init(_ seconds: Double) { value = seconds }

    var seconds: Double {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
