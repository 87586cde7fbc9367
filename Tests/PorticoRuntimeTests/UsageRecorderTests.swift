import Foundation
import PorticoCore
import PorticoRuntime
import Testing

/// The gateway's usage buffer: what it hands the writer, and when it wakes it early.
@Suite struct UsageRecorderTests {
    func sighting(_ id: String, email: String? = nil, at seconds: Double = 0) -> UserSighting {
        UserSighting(externalId: id, email: email, tokenName: nil, seenAt: Date(timeIntervalSince1970: seconds))
    }

    @Test func eachUsedKeyIsDrainedOnceWhateverItsShard() {
        let usage = UsageRecorder(shardCount: 4)
        let keys = (0..<100).map { _ in UUID() }
        for key in keys + keys { usage.keyUsed(key) }
        #expect(Set(usage.drainKeys()) == Set(keys))
        #expect(usage.drainKeys().isEmpty, "a drain empties every shard")
    }

    @Test func theLatestSightingOfAUserIsKept() {
        let usage = UsageRecorder()
        usage.tokenUserSeen(sighting("ada", email: "old@example.com", at: 1))
        usage.tokenUserSeen(sighting("ada", email: "new@example.com", at: 2))
        usage.tokenUserSeen(sighting("bob"))
        let drained = usage.drainSightings()
        #expect(drained.count == 2)
        #expect(drained.first { $0.externalId == "ada" }?.email == "new@example.com")
    }

    @Test func aRestoredSightingDoesNotOverwriteANewerOne() {
        let usage = UsageRecorder()
        usage.tokenUserSeen(sighting("ada", email: "first@example.com", at: 1))
        let failed = usage.drainSightings()
        usage.tokenUserSeen(sighting("ada", email: "newer@example.com", at: 2))
        usage.restore(failed + [sighting("bob")])
        let drained = usage.drainSightings()
        #expect(drained.first { $0.externalId == "ada" }?.email == "newer@example.com")
        #expect(drained.contains { $0.externalId == "bob" })
    }

    @Test func onlyAUserNotWrittenYetWakesTheWriter() async {
        let usage = UsageRecorder()
        var wakes = usage.newUsers.makeAsyncIterator()
        usage.tokenUserSeen(sighting("ada"))
        #expect(await wakes.next() != nil)
        usage.markWritten(usage.drainSightings())
        usage.tokenUserSeen(sighting("ada"))
        usage.tokenUserSeen(sighting("bob"))
        #expect(await wakes.next() != nil, "bob is new")
        usage.tokenUserSeen(sighting("ada"))
        usage.finish()
        #expect(await wakes.next() == nil, "ada, already written, woke nobody before the stream ended")
        #expect(Set(usage.drainSightings().map(\.externalId)) == ["ada", "bob"])
    }
}
