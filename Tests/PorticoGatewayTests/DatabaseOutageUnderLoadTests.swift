import Foundation
import PorticoCore
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import PostgresNIO
import Testing

/// PostgreSQL stopped in the middle of the load, as three gateway replicas see it (the connection between them
/// and the database cut): they answer nothing but 200 and the limits' own 429s, each spends its share of what
/// the quota had left, counting resumes when the database is back, and the quota is not reset by the outage.
@Suite struct DatabaseOutageUnderLoadTests {
    static let quota = 300

    @Test(.timeLimit(.minutes(4))) func theGatewaysKeepServingOnSharesAndTheQuotaSurvivesTheOutage() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.ensureGroups(["buyers"])
                let plan = try await PlanService(store: portico.store).create(
                    PlanInput(
                        name: "metered", rateLimit: .some(RateLimitInput(limit: 6_000, period: "1m")),
                        quota: .some(QuotaInput(limit: Self.quota, period: "24h"))), by: portico.actor)
                try await AccessService(store: portico.store).create(
                    AccessInput(name: "buyers", groups: ["buyers"], allApis: true, plan: "metered"), by: portico.actor)
                let (consumer, key) = try await portico.seedConsumer(groups: ["buyers"])

                let proxy = try await TCPProxy(to: URLComponents(string: portico.testDatabase.url.connectionString)?.port ?? 5432)
                var components = URLComponents(string: portico.testDatabase.url.connectionString)
                components?.port = proxy.port
                let proxied = try DatabaseURL(components?.string ?? "")
                let client = PostgresClient(configuration: proxied.configuration, backgroundLogger: TestDatabase.logger)
                let gatewayDatabase = Database(client: client, logger: TestDatabase.logger, operationTimeout: .milliseconds(500))
                try await withServices([client]) {
                    try await portico.withGateways(
                        count: 3, rateLimitStore: .cluster, rateLimitSync: .milliseconds(100), gatewayDatabase: gatewayDatabase
                    ) { gateways in
                        // Calls that meet a replica whose lease is on its way are told to retry (429 quota_renewing);
                        // this client does, until 90 are through.
                        var before = 0
                        for _ in 0..<20 where before < 90 {
                            before += try await QuotaAcrossReplicasTests.spread(90 - before, over: gateways, key: key, pause: .milliseconds(20))
                        }
                        #expect(before == 90)
                        try await Self.waitUntil { try await QuotaAcrossReplicasTests.counted(portico) == before }

                        await proxy.cut()
                        try await Self.waitUntil { gateways.allSatisfy { $0.gateway.server.limiter.health.isDegraded } }
                        // Each replica spends its lease and its share of what its last sync said was left: together, what
                        // was left, and a little more when one replica's view was older than another's lease. Less when
                        // syncs in flight at the cut took leases or handed them back without hearing so (a loaded
                        // machine has more of them in flight: 164 of 210 once under the whole suite); failing open
                        // means far more than nothing.
                        let left = Self.quota - before
                        let during = try await QuotaAcrossReplicasTests.spread(300, over: gateways, key: key, pause: .milliseconds(20))
                        print("during the outage: \(during) of the \(left) calls left were allowed")
                        #expect(during >= left / 2 && during <= left + Self.quota / 20 + 3, "\(during) of \(left)")

                        try await proxy.resume()
                        // The database client retries connecting with a backoff that grows with the outage (up to a
                        // minute), so a loaded machine may take a while to count again.
                        try await Self.waitUntil(seconds: 90) { gateways.allSatisfy { !$0.gateway.server.limiter.health.isDegraded } }
                        try await Self.waitUntil(seconds: 30) { try await QuotaAcrossReplicasTests.counted(portico) == before + during }
                        let counted = try await QuotaAcrossReplicasTests.counted(portico)
                        let states = gateways.map { gateway in
                            gateway.gateway.server.quotas.allowance(QuotaCounter.Key(plan: plan.id, consumer: consumer.id, api: api.id)).map {
                                "\($0)"
                            } ?? "-"
                        }
                        #expect(
                            counted == before + during,
                            "the outage's calls are counted, nothing reset: \(counted) for \(before) + \(during); \(states)")

                        let after = try await QuotaAcrossReplicasTests.spread(30, over: gateways, key: key, pause: .milliseconds(20))
                        // Within what was left and what a replica may admit ahead of a lease (5 %, one call each).
                        #expect(after <= max(0, Self.quota - before - during) + Self.quota / 20 + 3, "\(after) allowed after the outage")
                    }
                }
                await proxy.cut()
            }
        }
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func waitUntil(seconds: Int = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try await !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }
}
