import Foundation
import PorticoCore
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoTestSupport
import PostgresNIO
import Testing

/// Three `portico gateway` replicas on one database, one limit: counted in the cluster, the replicas together
/// admit the limit; counted locally, each admits all of it.
@Suite struct ClusterRateLimitTests {
    /// Sends `count` requests round-robin over `gateways` (several at a time) and counts the 200s, with the seconds it took.
    func spread(_ count: Int, over gateways: [GatewayHandle], key: String) async throws -> (allowed: Int, seconds: Double) {
        let started = ContinuousClock.now
        let allowed = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<6 {
                group.addTask {
                    var allowed = 0
                    for index in stride(from: lane, to: count, by: 6) {
                        let response = try await gateways[index % gateways.count].get("/orders", key: key)
                        if response.status == 200 { allowed += 1 } else { #expect(response.status == 429) }
                    }
                    return allowed
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        return (allowed, elapsed.seconds)
    }

    @Test(arguments: [RateLimitStore.cluster, .local])
    func threeReplicasShareOneLimitOnlyWhenCountedInTheCluster(store: RateLimitStore) async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("six-hundred", groups: ["buyers"], limit: 600, period: "1m")
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateways(count: 3, rateLimitStore: store, rateLimitSync: .milliseconds(100)) { gateways in
                    if store == .cluster {
                        // Each replica learns from the heartbeats that three share each limit.
                        let deadline = ContinuousClock.now + .seconds(10)
                        while gateways.contains(where: { $0.gateway.server.limiter.health.liveReplicas != 3 }), ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        #expect(gateways.allSatisfy { $0.gateway.server.limiter.health.liveReplicas == 3 })
                    }
                    let (allowed, seconds) = try await spread(2_100, over: gateways, key: key)
                    // 600 at once, then 10 a second come back while the requests go out.
                    let limit = 600 + Int(seconds * 10)
                    switch store {
                    case .cluster:
                        #expect(abs(allowed - limit) <= limit / 10, "allowed \(allowed) of \(limit) in \(seconds) s")
                    case .local:
                        #expect(allowed > 2 * limit, "each replica counts alone: allowed \(allowed)")
                    }
                }
            }
        }
    }
}

@Suite struct ClusterRateLimitOutageTests {
    @Test func withTheDatabaseDownAReplicaKeepsItsShareAndPushesWhatItAdmittedWhenItIsBack() async throws {
        try await withTestPortico { portico in
            let limiter = RateLimiter(store: .cluster)
            let (consumer, api) = (UUID(), UUID())
            let limit = try RateLimit(limit: 6, periodSeconds: 60)
            limiter.health.setLiveReplicas(2)

            // The database is unreachable: counting is degraded, decisions go on with this replica's share (3 of 6).
            let url = try DatabaseURL("postgres://postgres@127.0.0.1:\(try freeLoopbackPort())/portico?sslmode=disable")
            let client = PostgresClient(configuration: url.configuration, backgroundLogger: TestDatabase.logger)
            let down = Database(client: client, logger: TestDatabase.logger, operationTimeout: .milliseconds(300))
            try await withServices([client]) {
                await SharedCounterSync(database: down, limiter: limiter, quotas: QuotaCounter(health: limiter.health)).sync(waiting: false)
            }
            #expect(limiter.health.isDegraded)
            let allowed = (0..<5).filter { _ in limiter.decide(consumer: consumer, scope: api, limit: limit).allowed }.count
            #expect(allowed == 3, "two replicas last seen: half the limit each")

            // Back: the three admitted requests reach the cluster's bucket, and counting is no longer degraded.
            await SharedCounterSync(database: portico.database, limiter: limiter, quotas: QuotaCounter(health: limiter.health)).sync()
            #expect(!limiter.health.isDegraded)
            #expect(limiter.health.liveReplicas == 1, "only this replica's heartbeat is fresh")
            let bucket = "\(consumer.uuidString)/\(api.uuidString)"
            let tat = try await portico.database.read { connection in
                let rows = try await connection.query("SELECT tat FROM rate_limit_buckets WHERE bucket = \(bucket)", logger: TestDatabase.logger)
                var tat: Int64 = 0
                for try await value in rows.decode(Int64.self) { tat = value }
                return tat
            }
            let consumed = tat - RateLimiter.wallClockNanos()
            // Three requests of 10 s each, less the moments since: between 25 and 30 s of the bucket used.
            #expect((25_000_000_000...30_000_000_000).contains(consumed), "\(consumed)")
        }
    }
}

@Suite struct ReplicaHeartbeatTests {
    @Test func aReplicaThatStopsSyncingNoLongerCountsAfterTheHeartbeatWindowAndOneThatLeavesAtOnce() async throws {
        try await withTestPortico { portico in
            let (first, second, third) = (RateLimiter(store: .cluster), RateLimiter(store: .cluster), RateLimiter(store: .cluster))
            // A 500 ms interval makes the heartbeat window 5 s: room for slow syncs on a loaded machine between the
            // second's beat and the first's count below.
            let syncs = [first, second, third].map {
                SharedCounterSync(database: portico.database, limiter: $0, quotas: QuotaCounter(health: $0.health), interval: .milliseconds(500))
            }
            for sync in syncs { await sync.sync() }
            await syncs[0].sync()
            #expect(first.health.liveReplicas == 3)

            // The third is killed: it beats no more, and after the window the others take over its share.
            try await Task.sleep(for: .milliseconds(5_300))
            await syncs[1].sync()
            await syncs[0].sync()
            #expect(first.health.liveReplicas == 2)

            // The second stops gracefully: it says so, and the first alone holds each whole limit at its next sync.
            try await syncs[1].leave()
            await syncs[0].sync()
            #expect(first.health.liveReplicas == 1)
        }
    }

    /// Eventual, not timed: how fast is `make bench-scale`'s to measure (about 10 ms to two processes).
    @Test func aPolicyChangeReachesEveryReplica() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"])
                try await portico.withGateways(count: 3, rateLimitStore: .cluster) { gateways in
                    let started = ContinuousClock.now
                    let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                    var waiting = Set(gateways.indices)
                    while !waiting.isEmpty, ContinuousClock.now - started < .seconds(15) {
                        for index in waiting where try await gateways[index].get("/orders", key: key).status == 200 { waiting.remove(index) }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    #expect(waiting.isEmpty, "replicas \(waiting.sorted()) never admitted the new key")
                }
            }
        }
    }
}
