import Foundation
import Logging
import PorticoCore
import PorticoGateway
import PorticoStore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Shares a gateway's counts with the other replicas, off the request path. Every `interval` (and at once when a
/// quota lease runs dry) it reports to PostgreSQL, in one transaction: the calls each quota counter admitted,
/// taking back and handing out leases (always: quotas are counted in the database whatever the rate-limit
/// store); with `--rate-limit-store cluster`, what each rate-limit bucket admitted, in one atomic upsert, taking
/// back the cluster's TATs; and a heartbeat, so every replica knows how many share each limit. While the
/// database is unreachable, counting is degraded: each replica enforces its share of each shared limit from the
/// last known state, and the counts it kept are reported when the database is back.
public struct SharedCounterSync: Service, NamedByType {
    let database: Database
    let limiter: RateLimiter
    let quotas: QuotaCounter
    let interval: Duration
    let replicaId = UUID()

    /// A dry lease wakes the sync at most this often.
    static let minimumGap: Duration = .milliseconds(10)

    public init(database: Database, limiter: RateLimiter, quotas: QuotaCounter, interval: Duration = .milliseconds(200)) {
        self.database = database
        self.limiter = limiter
        self.quotas = quotas
        self.interval = interval
    }

    var health: CountingHealth { limiter.health }

    /// How long a replica counts as alive after its last heartbeat: ten syncs, and at least two seconds.
    var heartbeatWindow: Duration { max(interval * 10, .seconds(2)) }

    public func run() async throws {
        let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        tick.yield()
                        try? await Task.sleep(for: interval)
                    }
                    tick.finish()
                }
                group.addTask {
                    for await _ in quotas.wakeups { tick.yield() }
                }
                group.addTask {
                    var syncs = 0
                    for await _ in ticks {
                        if Task.isCancelled { break }
                        await sync(pruning: syncs % 300 == 0)
                        syncs += 1
                        try? await Task.sleep(for: Self.minimumGap)
                    }
                }
                await group.next()
                quotas.finish()
                tick.finish()
                group.cancelAll()
            }
        }
        await sync(waiting: false)
        try? await leave()
    }

    /// Says this replica stops, so the others hold its share at their next sync instead of after the heartbeat window.
    public func leave() async throws {
        try await database.transaction { try await RateLimitRepository(logger: database.logger).leave(replicaId, on: $0) }
    }

    /// One sync: quotas, rate-limit buckets (cluster store), heartbeat; and now and then, old rows pruned.
    /// `waiting` false bounds the sync by the database's operation timeout (at shutdown). Otherwise it waits for
    /// the database as long as it takes, so that its counts are applied exactly once: a sync given up at a deadline
    /// might still commit afterwards and then be reported twice. Counting is marked degraded as soon as a sync
    /// fails or takes longer than `degradedAfter`.
    public func sync(pruning: Bool = false, waiting: Bool = true) async {
        let increments = limiter.store == .cluster ? limiter.takeIncrements() : []
        // Back from an outage, report first: the others' calls while the database was away are not counted yet.
        let reports = quotas.takeReports(leasing: !health.isDegraded)
        let rates = RateLimitRepository(logger: database.logger)
        let counters = QuotaRepository(logger: database.logger)
        let (replicaId, window, database) = (replicaId, heartbeatWindow, database)
        let work: @Sendable (PostgresConnection) async throws -> ([String: Int64], [String: [Int64: QuotaCounterTotals]], Int) = { connection in
            let now = RateLimiter.wallClockNanos()
            let totals = try await counters.report(
                reports.map {
                    QuotaCounterReport(
                        bucket: $0.key.bucket, window: $0.window, limit: $0.limit, spent: $0.content.spent, unreserve: $0.content.unreserve,
                        want: $0.content.want)
                }, on: connection)
            let tats =
                increments.isEmpty
                ? [:]
                : try await rates.add(
                    buckets: increments.map(\.key.bucket), counts: increments.map { Int64($0.count) }, intervals: increments.map(\.interval),
                    now: now, on: connection)
            let replicas = try await rates.heartbeat(replicaId, window: window, on: connection)
            if pruning {
                try await rates.prune(now: now, on: connection)
                try await counters.prune(nowSeconds: now / 1_000_000_000, on: connection)
            }
            return (tats, totals, replicas)
        }
        do {
            let (tats, totals, replicas) =
                waiting
                ? try await watchingForDelay { try await database.transactionWithoutDeadline(work) }
                : try await database.transaction(work)
            if limiter.store == .cluster {
                limiter.synced(
                    Dictionary(uniqueKeysWithValues: increments.compactMap { increment in tats[increment.key.bucket].map { (increment.key, $0) } }))
            }
            var byPeriod: [QuotaCounter.PeriodKey: QuotaCounter.Totals] = [:]
            for report in reports {
                guard let total = totals[report.key.bucket]?[report.window.start] else { continue }
                byPeriod[QuotaCounter.PeriodKey(key: report.key, start: report.window.start)] = QuotaCounter.Totals(
                    used: total.used, reserved: total.reserved, granted: total.granted)
            }
            quotas.synced(byPeriod)
            health.setLiveReplicas(replicas)
            if health.setDegraded(false) {
                // Leases this sync took came from totals without what the replicas spent during the outage.
                quotas.handBackLeases()
                database.logger.info("shared counting resumed", metadata: ["replicas": "\(replicas)"])
            }
        } catch {
            if limiter.store == .cluster { limiter.syncFailed() }
            quotas.syncFailed()
            markDegraded(error)
        }
    }

    /// How long a sync may take before counting is marked degraded while it goes on waiting: ten syncs, at least 2 s.
    var degradedAfter: Duration { heartbeatWindow }

    /// A sync stuck this long (on a connection that will never answer) is given up, so counting cannot stop for
    /// good; one that has not been sent by then will not commit afterwards either.
    static let abandonAfter: Duration = .seconds(30)

    /// Runs `operation`, marking counting degraded if it has not finished after `degradedAfter` and giving up after
    /// `abandonAfter`. Cancelled (at shutdown), it stops waiting at once and leaves the operation to end with the
    /// database client.
    private func watchingForDelay<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let work = Task { try await operation() }
        let watch = Task {
            try await Task.sleep(for: degradedAfter)
            markDegraded(PorticoError.unavailable("the database has not answered for \(degradedAfter)"))
            try await Task.sleep(for: Self.abandonAfter - degradedAfter)
            work.cancel()
        }
        defer { watch.cancel() }
        return try await work.valueUnlessCancelled(orWhen: watch)
    }

    private func markDegraded(_ error: any Error) {
        if !health.setDegraded(true) {
            database.logger.warning(
                "shared counting degraded: each replica enforces its share of each shared limit until the database is back",
                metadata: ["replicas": "\(health.liveReplicas)", "error": "\(error)"])
        }
    }
}

extension Task where Failure == any Error, Success: Sendable {
    /// The task's value, or `CancellationError` as soon as the caller is cancelled or `deadline` finishes, without
    /// waiting for a task that does not stop when cancelled (a query waiting for a connection to a database that is
    /// away).
    func valueUnlessCancelled(orWhen deadline: Task<Void, any Error>) async throws -> Success {
        let resumed = PendingContinuation<Success>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                resumed.state.withLock { $0 = continuation }
                if Task<Never, Never>.isCancelled, let pending = resumed.state.withLock({ $0.take() }) {
                    pending.resume(throwing: Swift.CancellationError())
                    return
                }
                let task = self
                Task<Void, Never> {
                    let result = await task.result
                    resumed.state.withLock { $0.take() }?.resume(with: result)
                }
                Task<Void, Never> {
                    guard case .success = await deadline.result else { return }
                    resumed.state.withLock { $0.take() }?.resume(throwing: PorticoError.unavailable("the sync was given up"))
                }
            }
        } onCancel: {
            self.cancel()
            resumed.state.withLock { $0.take() }?.resume(throwing: Swift.CancellationError())
        }
    }
}

/// A continuation that whichever comes first resumes, once.
private final class PendingContinuation<Success: Sendable>: Sendable {
    let state = Mutex<CheckedContinuation<Success, any Error>?>(nil)
}
