import Foundation
import PorticoCore
import Synchronization

/// Per consumer per API rate limiting with GCRA (see `GCRA`). State is one Int64 per active pair, kept
/// in shards so that concurrent requests of different consumers rarely share a lock.
public final class RateLimiter: Sendable {
    struct Key: Hashable {
        let consumer: UUID
        let api: UUID
    }

    private final class Shard: Sendable {
        let state = Mutex<[Key: Int64]>([:])
    }

    private let shards: [Shard]
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    public init(shardCount: Int = 16) {
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.origin = clock.now
    }

    /// Counts one request of `consumer` on `api` against `limit`, if it is allowed, and says what to tell the client.
    public func decide(consumer: UUID, api: UUID, limit: RateLimit) -> RateLimitDecision {
        let key = Key(consumer: consumer, api: api)
        let now = nanosSinceOrigin()
        return shard(for: key).state.withLock { state in
            let (decision, tat) = GCRA.decide(tat: state[key], now: now, limit: limit)
            state[key] = tat
            return decision
        }
    }

    /// Forgets pairs whose bucket is full again: they decide exactly as a new consumer would.
    public func prune() {
        let now = nanosSinceOrigin()
        for shard in shards {
            shard.state.withLock { state in state = state.filter { $0.value > now } }
        }
    }

    public var trackedCount: Int { shards.reduce(0) { $0 + $1.state.withLock { $0.count } } }

    private func shard(for key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func nanosSinceOrigin() -> Int64 {
        (clock.now - origin).nanoseconds
    }
}
