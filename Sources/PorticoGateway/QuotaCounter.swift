import Foundation
import PorticoCore
import Synchronization

/// Quota counting for the data plane: one `QuotaAllowance` per bucket and period, kept in shards like the rate
/// limiter's. Deciding touches only memory; a background task (`PorticoRuntime.SharedCounterSync`) reports the
/// calls to PostgreSQL and brings back leases, woken early through `wakeups` when a bucket's lease runs dry.
public final class QuotaCounter: Sendable {
    /// A quota's bucket: one consumer on one plan, per API unless the plan's bucket is the consumer.
    public struct Key: Hashable, Sendable {
        public let plan: UUID
        public let consumer: UUID
        public let api: UUID?

        public init(plan: UUID, consumer: UUID, api: UUID?) {
            self.plan = plan
            self.consumer = consumer
            self.api = api
        }

        /// The counter's name in the database, the same in every replica.
        public var bucket: String { QuotaBucketName.of(plan: plan, consumer: consumer, api: api) }
    }

    /// One counter's report, with the period it belongs to and the limit it is counted against.
    public struct Report: Sendable {
        public let key: Key
        public let window: QuotaWindow
        public let limit: Int
        public let content: QuotaAllowance.Report
    }

    /// What the database said of one counter after a sync.
    public struct Totals: Sendable {
        public let used: Int
        public let reserved: Int
        public let granted: Int

        public init(used: Int, reserved: Int, granted: Int) {
            self.used = used
            self.reserved = reserved
            self.granted = granted
        }
    }

    public struct PeriodKey: Hashable, Sendable {
        public let key: Key
        public let start: Int64

        public init(key: Key, start: Int64) {
            self.key = key
            self.start = start
        }
    }

    private struct Entry {
        var current: QuotaAllowance
        var period: QuotaPeriod
        var limit: Int
        /// Counters of periods that ended with calls not reported yet.
        var ended: [QuotaAllowance] = []
    }

    private final class Shard: Sendable {
        let state = Mutex<[Key: Entry]>([:])
    }

    public let health: CountingHealth
    private let shards: [Shard]
    private let wake: AsyncStream<Void>.Continuation
    /// Yields when a bucket's lease ran dry, so the sync need not wait for its interval.
    public let wakeups: AsyncStream<Void>

    public init(health: CountingHealth = CountingHealth(), shardCount: Int = 16) {
        self.health = health
        shards = (0..<max(1, shardCount)).map { _ in Shard() }
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Counts one call in `key`'s bucket against `quota` at `now` (seconds since 1970), if it is allowed.
    /// With `counting` false (the explainer), says what a call would be told without counting it.
    public func decide(_ key: Key, quota: Quota, now: Int64, counting: Bool = true) -> QuotaDecision {
        let replicas = health.liveReplicas
        let degraded = health.isDegraded
        let (decision, dry) = shard(for: key).state.withLock { state in
            var entry =
                state[key] ?? Entry(current: QuotaAllowance(window: quota.period.window(containing: now)), period: quota.period, limit: quota.limit)
            if !entry.current.window.contains(now) || entry.period != quota.period {
                if !entry.current.isReported { entry.ended.append(entry.current) }
                entry.current = QuotaAllowance(window: quota.period.window(containing: now))
                entry.period = quota.period
            }
            entry.limit = quota.limit
            let decision = entry.current.admit(limit: quota.limit, period: quota.period, replicas: replicas, degraded: degraded, now: now)
            guard counting else { return (decision, false) }
            let dry = entry.current.leased == 0 && decision.outcome != .exhausted
            state[key] = entry
            return (decision, dry)
        }
        if dry { wake.yield() }
        return decision
    }

    /// Every counter's report for the next sync; with `leasing` false, no counter asks for a lease.
    public func takeReports(leasing: Bool = true) -> [Report] {
        let replicas = health.liveReplicas
        var reports: [Report] = []
        for shard in shards {
            shard.state.withLock { state in
                for (key, var entry) in state {
                    for index in entry.ended.indices {
                        if let content = entry.ended[index].takeFinalReport() {
                            reports.append(Report(key: key, window: entry.ended[index].window, limit: entry.limit, content: content))
                        }
                    }
                    if let content = entry.current.takeReport(limit: entry.limit, replicas: replicas, leasing: leasing) {
                        reports.append(Report(key: key, window: entry.current.window, limit: entry.limit, content: content))
                    }
                    state[key] = entry
                }
            }
        }
        return reports
    }

    /// The database counted the taken reports: each counter's totals after it. Settled counters are forgotten.
    public func synced(_ totals: [PeriodKey: Totals]) {
        for shard in shards {
            shard.state.withLock { state in
                for (key, var entry) in state {
                    if let result = totals[PeriodKey(key: key, start: entry.current.window.start)] {
                        entry.current.synced(used: result.used, reserved: result.reserved, granted: result.granted, limit: entry.limit)
                    }
                    for index in entry.ended.indices {
                        if let result = totals[PeriodKey(key: key, start: entry.ended[index].window.start)] {
                            entry.ended[index].synced(used: result.used, reserved: result.reserved, granted: 0, limit: entry.limit)
                        }
                    }
                    entry.ended.removeAll { $0.isReported }
                    state[key] = entry.current.isSettled && entry.ended.isEmpty ? nil : entry
                }
            }
        }
    }

    /// Every lease is handed back at the next sync, none spent (see `QuotaAllowance.handBackLease`).
    public func handBackLeases() {
        for shard in shards {
            shard.state.withLock { state in
                for key in state.keys { state[key]?.current.handBackLease() }
            }
        }
    }

    /// The sync failed: every taken report is sent again next time.
    public func syncFailed() {
        for shard in shards {
            shard.state.withLock { state in
                for (key, var entry) in state {
                    entry.current.syncFailed()
                    for index in entry.ended.indices { entry.ended[index].syncFailed() }
                    state[key] = entry
                }
            }
        }
    }

    /// What this replica knows of a bucket's current period, for tests and the readiness report.
    public func allowance(_ key: Key) -> QuotaAllowance? {
        shard(for: key).state.withLock { $0[key]?.current }
    }

    /// Ends `wakeups`.
    public func finish() { wake.finish() }

    private func shard(for key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }
}
