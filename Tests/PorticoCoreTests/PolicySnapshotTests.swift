import Foundation
import Testing

@testable import PorticoCore

@Suite struct PolicySnapshotTests {
    let orders = GatewayAPI(
        id: UUID(), name: "orders", pathPrefix: "/orders", host: nil, upstream: try! Upstream("http://127.0.0.1:1"),
        stripPrefix: false, status: .published)
    let userId = UUID()
    let keyId = UUID()

    func snapshot(key: GeneratedSecret, expiresAtMillis: Int64? = nil, disabled: Bool = false, grants: [AccessGrant]) -> PolicySnapshot {
        PolicySnapshot(
            version: 1, apis: [orders], keys: [key.hash: KeyGrant(keyId: keyId, userId: userId, expiresAtMillis: expiresAtMillis)],
            consumers: [ConsumerPolicy(userId: userId, disabled: disabled, groups: ["gold", "silver"])], grants: grants)
    }

    @Test func aKnownKeyAuthenticatesItsConsumer() {
        let key = SecretFormat.apiKey.generate()
        let policy = snapshot(key: key, grants: [])
        guard case .accepted(let consumer, let id) = policy.authenticate(apiKey: key.secret, nowMillis: 0) else {
            Issue.record("key rejected")
            return
        }
        #expect(consumer.userId == userId)
        #expect(id == keyId)
    }

    @Test func unknownExpiredAndDisabledKeysAreRejected() {
        let key = SecretFormat.apiKey.generate()
        #expect(
            snapshot(key: key, grants: []).authenticate(apiKey: SecretFormat.apiKey.generate().secret, nowMillis: 0)
                == .rejected("the API key is unknown or revoked"))
        #expect(
            snapshot(key: key, expiresAtMillis: 100_500, grants: []).authenticate(apiKey: key.secret, nowMillis: 100_500)
                == .rejected("the API key has expired"))
        #expect(
            snapshot(key: key, expiresAtMillis: 100_500, grants: []).authenticate(apiKey: key.secret, nowMillis: 100_499)
                != .rejected("the API key has expired"))
        #expect(
            snapshot(key: key, disabled: true, grants: []).authenticate(apiKey: key.secret, nowMillis: 0)
                == .rejected("the API key's user is disabled"))
        #expect(snapshot(key: key, grants: []).authenticate(apiKey: "garbage", nowMillis: 0) == .rejected("the API key is malformed"))
    }

    @Test func theMostGenerousGrantOfTheUsersGroupsApplies() throws {
        let key = SecretFormat.apiKey.generate()
        let policy = snapshot(
            key: key,
            grants: [
                AccessGrant(name: "silver", groups: ["silver"], apiIds: [orders.id], rateLimit: try RateLimit(limit: 10, periodSeconds: 60)),
                AccessGrant(name: "gold", groups: ["gold"], apiIds: nil, rateLimit: try RateLimit(limit: 100, periodSeconds: 60)),
                AccessGrant(name: "other", groups: ["bronze"], apiIds: nil, rateLimit: nil),
            ])
        #expect(policy.access(groups: ["gold", "silver"], api: orders.id) == .limited(try RateLimit(limit: 100, periodSeconds: 60)))
        #expect(policy.access(groups: ["silver"], api: orders.id) == .limited(try RateLimit(limit: 10, periodSeconds: 60)))
        #expect(policy.access(groups: ["bronze"], api: orders.id) == .unlimited)
        #expect(policy.access(groups: ["nobody"], api: orders.id) == nil)
        #expect(policy.access(groups: ["gold"], api: UUID()) == nil)
    }

    @Test func secretsHaveAPrefixAndEnoughRandomness() {
        let key = SecretFormat.apiKey.generate()
        #expect(key.secret.hasPrefix("pk_"))
        #expect(key.secret.count == 3 + 43)  // 256 random bits in base64url
        #expect(key.publicPrefix == String(key.secret.prefix(11)))
        #expect(key.hash == SecretHash(of: key.secret))
        #expect(key.hash.constantTimeEquals(SecretHash(of: key.secret)))
        #expect(!key.hash.constantTimeEquals(SecretHash(of: key.secret + "x")))
        #expect(SecretFormat.apiKey.generate().secret != key.secret)
        #expect(SecretFormat.apiKey.matches(key.secret))
        #expect(!SecretFormat.adminToken.matches(key.secret))
    }

    @Test func aSecretHashIsTheSHA256DigestInByteOrderAndRoundTripsThroughItsBytes() throws {
        // FIPS 180-2's example: SHA-256("abc").
        let hash = SecretHash(of: "abc")
        #expect(hash.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SecretHash(bytes: hash.bytes) == hash)
        #expect(SecretHash(of: "abc"[...]) == hash)
        #expect(SecretHash(bytes: Array(hash.bytes.prefix(31))) == nil)
        var flipped = hash.bytes
        flipped[31] ^= 1
        #expect(try #require(SecretHash(bytes: flipped)) != hash)
    }
}
