import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import Synchronization

/// The gateway's `UsageSink`: collects key uses, token users and each consumer's calls per API and hour between
/// two writes, so a request never waits on the database. State is kept in shards, like the rate limiter's, so requests on different event loops rarely
/// share a lock. A token user not written yet signals the writer at once, so first-time users appear in the
/// portal within moments.
public final class UsageRecorder: UsageSink {
    private struct Sightings {
        var pending: [String: UserSighting] = [:]
        var written: Set<String> = []
    }

    /// One consumer on one API in one hour (seconds since 1970 at its start).
    struct CallKey: Hashable {
        let consumer: UUID
        let api: UUID
        let hour: Int64
        let application: UUID?
    }

    private final class Shard: Sendable {
        let keys = Mutex(Set<UUID>())
        let sightings = Mutex(Sightings())
        let calls = Mutex([CallKey: UsageCounts]())
        let refusals: Mutex<RefusalRing>

        init(maxRefusingConsumers: Int) { refusals = Mutex(RefusalRing(maxConsumers: maxRefusingConsumers)) }
    }

    private let shards: [Shard]
    private let signal: AsyncStream<Void>.Continuation
    /// Yields when a token user that has not been written yet is seen.
    public let newUsers: AsyncStream<Void>

    /// `maxRefusingConsumers`: how many consumers' refusals are kept in all (`RefusalRing`).
    public init(shardCount: Int = 16, maxRefusingConsumers: Int = 16_384) {
        let count = max(1, shardCount)
        shards = (0..<count).map { _ in Shard(maxRefusingConsumers: max(1, maxRefusingConsumers / count)) }
        (newUsers, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func keyUsed(_ keyId: UUID) {
        _ = shard(of: keyId).keys.withLock { $0.insert(keyId) }
    }

    public func tokenUserSeen(_ sighting: UserSighting) {
        let isNew = shard(of: sighting.externalId).sightings.withLock { state in
            let firstInBatch = state.pending.updateValue(sighting, forKey: sighting.externalId) == nil
            return firstInBatch && !state.written.contains(sighting.externalId)
        }
        if isNew { signal.yield() }
    }

    public func callAnswered(_ call: AnsweredCall) {
        let hour = Int64(Date().timeIntervalSince1970) / 3_600 * 3_600
        let key = CallKey(consumer: call.consumer, api: call.api, hour: hour, application: call.application)
        shard(of: call.consumer).calls.withLock { calls in
            calls[key, default: UsageCounts()].record(
                status: call.status, rateLimited: call.rateLimited, bytesIn: call.bytesIn, bytesOut: call.bytesOut, latencyNanos: call.latencyNanos)
        }
    }

    public func refused(_ refusal: Refusal) {
        shard(of: refusal.consumer).refusals.withLock { $0.add(refusal) }
    }

    /// The refusals kept since the last drain.
    public func drainRefusals() -> [Refusal] {
        shards.flatMap { shard in shard.refusals.withLock { $0.takeUnwritten() } }
    }

    /// Puts back refusals a failed write could not store, those still kept.
    public func restore(_ refusals: [Refusal]) {
        for refusal in refusals { shard(of: refusal.consumer).refusals.withLock { $0.restore([refusal]) } }
    }

    /// A consumer's refusals this gateway keeps, newest first.
    public func recentRefusals(of consumer: UUID) -> [Refusal] {
        shard(of: consumer).refusals.withLock { $0.recent(of: consumer) }
    }

    /// The calls counted since the last drain, per consumer, API and hour.
    public func drainCalls() -> [UsageRow] {
        shards.flatMap { shard in
            shard.calls.withLock { calls in
                defer { calls.removeAll(keepingCapacity: true) }
                return calls.map {
                    UsageRow(consumer: $0.key.consumer, api: $0.key.api, hour: $0.key.hour, counts: $0.value, application: $0.key.application)
                }
            }
        }
    }

    /// Puts back counts a failed write could not store, adding them to those counted since.
    public func restore(_ rows: [UsageRow]) {
        for row in rows {
            shard(of: row.consumer).calls.withLock { calls in
                calls[CallKey(consumer: row.consumer, api: row.api, hour: row.hour, application: row.application), default: UsageCounts()].add(
                    row.counts)
            }
        }
    }

    /// The keys used since the last drain.
    public func drainKeys() -> [UUID] {
        shards.flatMap { shard in
            shard.keys.withLock { keys in
                defer { keys.removeAll(keepingCapacity: true) }
                return Array(keys)
            }
        }
    }

    /// The token users seen since the last drain, the latest sighting of each.
    public func drainSightings() -> [UserSighting] {
        shards.flatMap { shard in
            shard.sightings.withLock { state in
                defer { state.pending.removeAll(keepingCapacity: true) }
                return Array(state.pending.values)
            }
        }
    }

    /// Remembers these users as stored, so seeing them again does not wake the writer early.
    public func markWritten(_ sightings: [UserSighting]) {
        for sighting in sightings {
            _ = shard(of: sighting.externalId).sightings.withLock { $0.written.insert(sighting.externalId) }
        }
    }

    /// Puts back sightings a failed write could not store; newer sightings of the same user win.
    public func restore(_ sightings: [UserSighting]) {
        for sighting in sightings {
            shard(of: sighting.externalId).sightings.withLock { state in
                if state.pending[sighting.externalId] == nil { state.pending[sighting.externalId] = sighting }
            }
        }
    }

    /// Ends `newUsers`.
    public func finish() { signal.finish() }

    /// Key and user ids are random (v4) UUIDs: their last byte spreads them over the shards without hashing them.
    private func shard(of id: UUID) -> Shard {
        shards[Int(id.uuid.15) % shards.count]
    }

    private func shard(of userId: String) -> Shard {
        shards[Int(UInt(bitPattern: userId.hashValue) % UInt(shards.count))]
    }
}
