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
        #expect(id.keyId == keyId)
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
        #expect(policy.access(groups: ["gold", "silver"], api: orders.id) == .rate(try RateLimit(limit: 100, periodSeconds: 60)))
        #expect(policy.access(groups: ["silver"], api: orders.id) == .rate(try RateLimit(limit: 10, periodSeconds: 60)))
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

@Suite struct PolicyDeltaTests {
    let api = GatewayAPI(
        id: UUID(), name: "orders", pathPrefix: "/orders", host: nil, upstream: try! Upstream("http://127.0.0.1:1"), stripPrefix: false,
        status: .published)

    @Test func aDeltaAddsReplacesAndRemovesKeysAndUsersAndKeepsTheRest() {
        let (kept, added, removed) = (SecretFormat.apiKey.generate(), SecretFormat.apiKey.generate(), SecretFormat.apiKey.generate())
        let alice = ConsumerPolicy(userId: UUID(), disabled: false, groups: ["gold"])
        let bob = ConsumerPolicy(userId: UUID(), disabled: false, groups: ["gold"], externalId: "bob")
        let base = PolicySnapshot(
            version: 1, apis: [api],
            keys: [
                kept.hash: KeyGrant(keyId: UUID(), userId: alice.userId, expiresAtMillis: nil),
                removed.hash: KeyGrant(keyId: UUID(), userId: alice.userId, expiresAtMillis: nil),
            ],
            consumers: [alice, bob], grants: [AccessGrant(name: "gold", groups: ["gold"], apiIds: nil, rateLimit: nil)])
        let carol = ConsumerPolicy(userId: UUID(), disabled: false, groups: ["silver"])
        let next = base.applying(
            PolicyDelta(
                version: 2,
                keys: [added.hash: KeyGrant(keyId: UUID(), userId: carol.userId, expiresAtMillis: nil), removed.hash: KeyGrant?.none],
                consumers: [carol.userId: carol, bob.userId: ConsumerPolicy(userId: bob.userId, disabled: true, groups: [], externalId: "bob")]))

        #expect(next.version == 2 && next.keyCount == 2 && next.consumerCount == 3)
        #expect(next.authenticate(apiKey: removed.secret, nowMillis: 0) == .rejected("the API key is unknown or revoked"))
        #expect(
            next.authenticate(apiKey: added.secret, nowMillis: 0)
                == .accepted(carol, KeyGrant(keyId: next.keyId(added), userId: carol.userId, expiresAtMillis: nil)))
        #expect(next.isDisabled(externalUserId: "bob") && !base.isDisabled(externalUserId: "bob"))
        #expect(next.access(groups: ["gold"], api: api.id) == .unlimited)
        // The snapshot it was made from is untouched: requests in flight keep deciding on it.
        #expect(base.keyCount == 2 && base.authenticate(apiKey: removed.secret, nowMillis: 0) != .rejected("the API key is unknown or revoked"))

        let enabledAgain = next.applying(
            PolicyDelta(version: 3, consumers: [bob.userId: ConsumerPolicy(userId: bob.userId, disabled: false, groups: [], externalId: "bob")]))
        #expect(!enabledAgain.isDisabled(externalUserId: "bob"))
        #expect(enabledAgain.hasSameContents(as: base.applying(PolicyDelta(version: 3, keys: [removed.hash: KeyGrant?.none]))) == false)
    }

    @Test func aDeltaWithAStructureRecompilesLimitsAndRoutes() {
        let base = PolicySnapshot(
            version: 1, apis: [api], keys: [:], consumers: [], grants: [AccessGrant(name: "gold", groups: ["gold"], apiIds: nil, rateLimit: nil)])
        let limit = try! RateLimit(limit: 5, periodSeconds: 60)
        let next = base.applying(
            PolicyDelta(
                version: 2,
                structure: PolicyStructure(apis: [api], grants: [AccessGrant(name: "gold", groups: ["gold"], apiIds: nil, rateLimit: limit)])))
        #expect(next.access(groups: ["gold"], api: api.id) == .rate(limit))
        #expect(base.access(groups: ["gold"], api: api.id) == .unlimited)
        let noAPIs = next.applying(PolicyDelta(version: 3, structure: PolicyStructure(apis: [], grants: [])))
        #expect(noAPIs.routes.match(path: "/orders", host: String?.none) == nil)
    }

    @Test func snapshotsBuiltInADifferentOrderHaveTheSameContents() {
        let keys = (0..<500).map { _ in SecretFormat.apiKey.generate() }
        let owner = ConsumerPolicy(userId: UUID(), disabled: false, groups: ["b", "a"])
        var forward = PolicySnapshot(version: 1, apis: [], keys: [:], consumers: [owner], grants: [])
        for key in keys {
            forward = forward.applying(
                PolicyDelta(version: 2, keys: [key.hash: KeyGrant(keyId: owner.userId, userId: owner.userId, expiresAtMillis: nil)]))
        }
        let whole = PolicySnapshot(
            version: 2, apis: [],
            keys: Dictionary(
                uniqueKeysWithValues: keys.reversed().map { ($0.hash, KeyGrant(keyId: owner.userId, userId: owner.userId, expiresAtMillis: nil)) }),
            consumers: [ConsumerPolicy(userId: owner.userId, disabled: false, groups: ["a", "b"])], grants: [])
        #expect(forward.hasSameContents(as: whole))
        let fewer = forward.applying(PolicyDelta(version: 3, keys: [keys[0].hash: KeyGrant?.none]))
        #expect(!fewer.hasSameContents(as: whole))
    }
}

@Suite struct ShardedMapTests {
    @Test func countsAndLooksUpAcrossShards() {
        var map = ShardedMap<String, Int>(shardCount: 16)
        for index in 0..<1000 { map["k\(index)"] = index }
        map["k5"] = 50
        map["k6"] = nil
        map["absent"] = nil
        #expect(map.count == 999)
        #expect(map["k5"] == 50 && map["k6"] == nil && map["k999"] == 999)
        var copy = map
        copy["k7"] = nil
        #expect(map["k7"] == 7 && copy["k7"] == nil && map != copy)
    }

    @Test func secretHashesRoundTripThroughHex() {
        let hash = SecretFormat.apiKey.generate().hash
        #expect(SecretHash(hex: hash.hex) == hash)
        #expect(SecretHash(hex: hash.hex.uppercased()) == hash)
        #expect(SecretHash(hex: "zz" + hash.hex.dropFirst(2)) == nil)
        #expect(SecretHash(hex: hash.hex.dropLast()) == nil)
    }
}

extension PolicySnapshot {
    /// The id of the key `secret` names, for comparing an accepted authentication.
    fileprivate func keyId(_ secret: GeneratedSecret) -> UUID {
        if case .accepted(_, let grant) = authenticate(apiKey: secret.secret, nowMillis: 0) { return grant.keyId }
        return UUID()
    }
}
