import Foundation
import Logging
import PorticoGateway
import PorticoStore
import ServiceLifecycle

/// Shares a gateway's rate-limit counts with the other replicas (`--rate-limit-store cluster`): every `interval`
/// it pushes what this replica admitted since the last sync to PostgreSQL in one atomic upsert, takes back the
/// cluster's TATs, and beats its heart so every replica knows how many share each limit. Off the request path.
/// When the database is unreachable the limiter keeps deciding on the last known TATs and replica count (each
/// replica its share of the limit), and counting resumes when the database is back.
public struct ClusterRateLimitSync: Service {
    let database: Database
    let limiter: RateLimiter
    let interval: Duration
    let replicaId = UUID()

    public init(database: Database, limiter: RateLimiter, interval: Duration = .milliseconds(200)) {
        self.database = database
        self.limiter = limiter
        self.interval = interval
    }

    /// How long a replica counts as alive after its last heartbeat: ten syncs, and at least two seconds.
    var heartbeatWindow: Duration { max(interval * 10, .seconds(2)) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var syncs = 0
            while !Task.isCancelled {
                await sync(pruning: syncs % 300 == 0)
                syncs += 1
                try? await Task.sleep(for: interval)
            }
        }
        try? await leave()
    }

    /// Says this replica stops, so the others hold its share at their next sync instead of after the heartbeat window.
    public func leave() async throws {
        try await database.transaction { try await RateLimitRepository(logger: database.logger).leave(replicaId, on: $0) }
    }

    /// One sync: push, pull, heartbeat (and now and then, prune old rows).
    public func sync(pruning: Bool = false) async {
        let increments = limiter.takeIncrements()
        let repository = RateLimitRepository(logger: database.logger)
        let (replicaId, window) = (replicaId, heartbeatWindow)
        do {
            let (tats, replicas) = try await database.transaction { connection in
                let now = RateLimiter.wallClockNanos()
                let tats = try await repository.add(
                    buckets: increments.map(\.key.bucket), counts: increments.map { Int64($0.count) }, intervals: increments.map(\.interval),
                    now: now, on: connection)
                let replicas = try await repository.heartbeat(replicaId, window: window, on: connection)
                if pruning { try await repository.prune(now: now, on: connection) }
                return (tats, replicas)
            }
            limiter.synced(
                Dictionary(uniqueKeysWithValues: increments.compactMap { increment in tats[increment.key.bucket].map { (increment.key, $0) } }))
            limiter.setLiveReplicas(replicas)
            if limiter.setCountingDegraded(false) {
                database.logger.info("cluster rate-limit counting resumed", metadata: ["replicas": "\(replicas)"])
            }
        } catch {
            limiter.syncFailed()
            if !limiter.setCountingDegraded(true) {
                database.logger.warning(
                    "cluster rate-limit counting degraded: each replica enforces its share of each limit until the database is back",
                    metadata: ["replicas": "\(limiter.liveReplicas)", "error": "\(error)"])
            }
        }
    }
}
