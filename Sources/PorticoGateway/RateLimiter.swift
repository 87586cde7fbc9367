import Foundation
import PorticoCore
import Synchronization

/// Per consumer per API rate limiting with GCRA (see `GCRA`), kept in shards so that concurrent requests of
/// different consumers rarely share a lock. `local` counts in this process alone (one Int64 per active pair).
/// `cluster` decides from the cluster's TAT as of the last sync plus what this replica admitted since
/// (`GCRA.decideShared`); a background task (`PorticoRuntime.ClusterRateLimitSync`) pushes those counts to the
/// database and brings back the cluster's TATs and the number of live replicas. Nothing here waits on I/O.
public final class RateLimiter: Sendable {
    public struct Key: Hashable, Sendable {
        public let consumer: UUID
        public let api: UUID

        /// The bucket's name in the database, the same in every replica.
        public var bucket: String { "\(consumer.uuidString)/\(api.uuidString)" }
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
    public let failMode: RateLimitFailMode
    private let shards: [Shard]
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private let replicas = Atomic<Int>(1)
    private let degraded = Atomic<Bool>(false)

    public init(store: RateLimitStore = .local, failMode: RateLimitFailMode = .open, shardCount: Int = 16) {
        self.store = store
        self.failMode = failMode
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.origin = clock.now
    }

    /// Counts one request of `consumer` on `api` against `limit`, if it is allowed, and says what to tell the client.
    public func decide(consumer: UUID, api: UUID, limit: RateLimit) -> RateLimitDecision {
        let key = Key(consumer: consumer, api: api)
        switch store {
        case .local:
            let now = nanosSinceOrigin()
            return shard(for: key).state.withLock { state in
                let (decision, tat) = GCRA.decide(tat: state[key]?.tat, now: now, limit: limit)
                state[key, default: Bucket()].tat = tat
                return decision
            }
        case .cluster:
            let now = Self.wallClockNanos()
            let replicas = replicas.load(ordering: .relaxed)
            return shard(for: key).state.withLock { state in
                var bucket = state[key] ?? Bucket()
                let decision = GCRA.decideShared(
                    base: bucket.tat, pending: bucket.pending + bucket.syncing, now: now, limit: limit, replicas: replicas)
                if decision.allowed { bucket.pending += 1 }
                bucket.interval = Int64(limit.periodSeconds) * 1_000_000_000 / Int64(limit.limit)
                state[key] = bucket
                return decision
            }
        }
    }

    /// Cluster: how many replicas share each limit now (at least 1).
    public var liveReplicas: Int { replicas.load(ordering: .relaxed) }

    public func setLiveReplicas(_ count: Int) { replicas.store(max(1, count), ordering: .relaxed) }

    /// Cluster: whether the last sync failed, so each replica is enforcing its share of each limit alone.
    public var isCountingDegraded: Bool { degraded.load(ordering: .relaxed) }

    /// Whether requests on rate-limited grants are to be refused now: a cluster store failing closed, degraded.
    public var refusesWhileDegraded: Bool { failMode == .closed && isCountingDegraded }

    /// Sets the degraded state and returns the one before.
    @discardableResult
    public func setCountingDegraded(_ value: Bool) -> Bool { degraded.exchange(value, ordering: .relaxed) }

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
