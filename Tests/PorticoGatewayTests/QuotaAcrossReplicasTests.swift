import Foundation
import PorticoCore
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Three `portico gateway` replicas on one database share each quota: leases taken atomically from PostgreSQL
/// let them together spend at least 95 % of it and never more than 10 % above it, even a small one.
@Suite struct QuotaAcrossReplicasTests {
    /// Sends `count` requests round-robin over `gateways`, six at a time with `pause` between each lane's calls,
    /// and counts the 200s; any status but 200 and 429 fails the test.
    static func spread(_ count: Int, over gateways: [GatewayHandle], key: String, pause: Duration = .zero) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<6 {
                group.addTask {
                    var allowed = 0
                    for index in stride(from: lane, to: count, by: 6) {
                        let response = try await gateways[index % gateways.count].get("/orders", key: key)
                        if response.status == 200 { allowed += 1 } else { #expect(response.status == 429, "\(response.status)") }
                        if pause > .zero { try await Task.sleep(for: pause) }
                    }
                    return allowed
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// The calls PostgreSQL counted for every quota counter of the database.
    static func counted(_ portico: TestPortico) async throws -> Int {
        try await portico.store.read { connection in
            try await connection.query("SELECT coalesce(sum(used), 0)::bigint FROM quota_counters", logger: portico.database.logger)
                .decode(Int64.self).reduce(0) { $0 + Int($1) }
        }
    }

    @Test(arguments: [1_000, 40])
    func threeReplicasTogetherSpendTheQuotaAndNoMore(quota: Int) async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.ensureGroups(["buyers"])
                _ = try await PlanService(store: portico.store).create(
                    PlanInput(name: "daily", quota: .some(QuotaInput(limit: quota, period: "24h"))), by: portico.actor)
                try await AccessService(store: portico.store).create(
                    AccessInput(name: "buyers", groups: ["buyers"], allApis: true, plan: "daily"), by: portico.actor)
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateways(count: 3, rateLimitStore: .cluster, rateLimitSync: .milliseconds(100)) { gateways in
                    // Twice the quota, so that every replica runs into its end. A client of a small quota calls at a
                    // steady pace (here 40 a second), not 80 times in the 30 ms a burst takes: no replica can lease
                    // allowance faster than its database answers, and the calls in between are told to retry in 1 s.
                    let pause: Duration = quota < 100 ? .milliseconds(150) : .zero
                    var allowed = try await Self.spread(quota * 2, over: gateways, key: key, pause: pause)
                    // Calls that met a dry lease were told to retry; clients that do, spend what the replicas still hold.
                    for _ in 0..<10 {
                        try await Task.sleep(for: .milliseconds(300))
                        let more = try await Self.spread(quota / 2, over: gateways, key: key, pause: pause)
                        allowed += more
                        if more == 0 { break }
                    }
                    print("quota \(quota) a day across 3 replicas: \(allowed) calls allowed")
                    #expect(allowed >= quota * 95 / 100, "allowed \(allowed) of \(quota)")
                    #expect(allowed <= quota * 110 / 100, "allowed \(allowed) of \(quota)")

                    // Counted where every replica and restart sees it.
                    let deadline = ContinuousClock.now + .seconds(5)
                    while try await Self.counted(portico) != allowed, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(try await Self.counted(portico) == allowed)
                }
            }
        }
    }
}
