import Foundation
import PorticoCore
import Synchronization

/// Per consumer per API rate limiting with GCRA (see `GCRA`), kept in shards so that concurrent requests of
/// different consumers rarely share a lock. `local` counts in this process alone (one Int64 per active pair).
/// `cluster` decides from the cluster's TAT as of the last sync plus what this replica admitted since
/// (`GCRA.decideShared`); a background task (`PorticoRuntime.SharedCounterSync`) pushes those counts to the
/// database and brings back the cluster's TATs and the number of live replicas. Nothing here waits on I/O.
public final class RateLimiter: Sendable {
    public struct Key: Hashable, Sendable {
        public let consumer: UUID
        /// The API, or the plan when the plan's bucket is the consumer.
        public let scope: UUID

        /// The bucket's name in the database, the same in every replica.
        public var bucket: String { "\(consumer.headerText)/\(scope.headerText)" }
    }

    struct Bucket {
        /// Local: the TAT on this process's monotonic clock. Cluster: the cluster's TAT (wall-clock nanoseconds)
        /// at the last sync, nil before the first.
        var tat: Int64?
        /// Cluster: requests admitted since the last sync, and those whose sync is on its way.
        var pending = 0
        var syncing = 0
        /// Cluster: nanoseconds one request adds to the TAT (the limit's period / limit).
        var interval: Int64 = 0
    }

    /// One bucket's requests for the database: `count` requests of `interval` nanoseconds each.
    public struct Increment: Sendable {
        public let key: Key
        public let count: Int
        public let interval: Int64
    }

    private final class Shard: Sendable {
        let state = Mutex<[Key: Bucket]>([:])
    }

    public let store: RateLimitStore
    public let health: CountingHealth
    private let shards: [Shard]
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    public init(store: RateLimitStore = .local, health: CountingHealth = CountingHealth(), shardCount: Int = 16) {
        self.store = store
        self.health = health
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.origin = clock.now
    }

    public convenience init(store: RateLimitStore, failMode: RateLimitFailMode, shardCount: Int = 16) {
        self.init(store: store, health: CountingHealth(failMode: failMode), shardCount: shardCount)
    }

    /// Counts one request of `consumer` in `scope` (an API, or a plan whose bucket is the consumer) against
    /// `limit`, if it is allowed, and says what to tell the client. With `counting` false (the explainer) it only
    /// says so: the request is not counted.
    public func decide(consumer: UUID, scope: UUID, limit: RateLimit, counting: Bool = true) -> RateLimitDecision {
        let key = Key(consumer: consumer, scope: scope)
        switch store {
        case .local:
            let now = nanosSinceOrigin()
            return shard(for: key).state.withLock { state in
                let (decision, tat) = GCRA.decide(tat: state[key]?.tat, now: now, limit: limit)
                if counting { state[key, default: Bucket()].tat = tat }
                return decision
            }
        case .cluster:
            let now = Self.wallClockNanos()
            let replicas = health.liveReplicas
            return shard(for: key).state.withLock { state in
                var bucket = state[key] ?? Bucket()
                let decision = GCRA.decideShared(
                    base: bucket.tat, pending: bucket.pending + bucket.syncing, now: now, limit: limit, replicas: replicas)
                guard counting else { return decision }
                if decision.allowed { bucket.pending += 1 }
                bucket.interval = Int64(limit.periodSeconds) * 1_000_000_000 / Int64(limit.limit)
                state[key] = bucket
                return decision
            }
        }
    }

    /// Whether requests on rate-limited grants are to be refused now: a cluster store failing closed, degraded.
    public var refusesWhileDegraded: Bool { store == .cluster && health.refusesSharedLimits }

    /// Cluster: every bucket's requests since the last sync (zero for a bucket that only needs the cluster's
    /// TAT again), marked as on their way until `synced` or `syncFailed`.
    public func takeIncrements() -> [Increment] {
        var increments: [Increment] = []
        for shard in shards {
            shard.state.withLock { state in
                for (key, var bucket) in state {
                    increments.append(Increment(key: key, count: bucket.pending, interval: bucket.interval))
                    bucket.syncing += bucket.pending
                    bucket.pending = 0
                    state[key] = bucket
                }
            }
        }
        return increments
    }

    /// Cluster: the database counted the taken increments; these are the cluster's TATs now.
    public func synced(_ tats: [Key: Int64]) {
        for shard in shards {
            shard.state.withLock { state in
                for (key, var bucket) in state {
                    bucket.syncing = 0
                    if let tat = tats[key] { bucket.tat = tat }
                    state[key] = bucket
                }
            }
        }
    }

    /// Cluster: the sync failed; the taken requests count as pending again, for the next one.
    public func syncFailed() {
        for shard in shards {
            shard.state.withLock { state in
                for (key, var bucket) in state {
                    bucket.pending += bucket.syncing
                    bucket.syncing = 0
                    state[key] = bucket
                }
            }
        }
    }

    /// Forgets pairs whose bucket is full again: they decide exactly as a new consumer would. In cluster mode a
    /// pair with requests not yet synced is kept.
    public func prune() {
        switch store {
        case .local:
            let now = nanosSinceOrigin()
            for shard in shards { shard.state.withLock { state in state = state.filter { ($0.value.tat ?? 0) > now } } }
        case .cluster:
            let now = Self.wallClockNanos()
            for shard in shards {
                shard.state.withLock { state in
                    state = state.filter { $0.value.pending + $0.value.syncing > 0 || ($0.value.tat ?? 0) > now }
                }
            }
        }
    }

    public var trackedCount: Int { shards.reduce(0) { $0 + $1.state.withLock { $0.count } } }

    private func shard(for key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func nanosSinceOrigin() -> Int64 {
        (clock.now - origin).nanoseconds
    }

    /// Nanoseconds since 1970, the clock replicas on different hosts share.
    public static func wallClockNanos() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
