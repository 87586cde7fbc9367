import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PorticoCore
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Every replica counts each consumer's calls per API and hour and adds them to PostgreSQL; the admin API answers
/// the series, and the dashboard and portal draw them.
@Suite struct UsageRecordsTests {
    @Test func twoReplicasCountsAddUpAndTheAdminAPIAnswersTheSeries() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], limit: 5, period: "1m")
                let (consumer, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateways(count: 2) { gateways in
                    // Five admitted round-robin (three on the first replica), then two more on the first, which counts
                    // 5 a minute alone, and three it refuses.
                    for index in 0..<5 { #expect(try await gateways[index % 2].get("/orders/\(index)", key: key).status == 200) }
                    for _ in 0..<2 { #expect(try await gateways[0].get("/orders/x", key: key).status == 200) }
                    for _ in 0..<3 { #expect(try await gateways[0].get("/orders/y", key: key).status == 429) }
                    #expect(try await gateways[1].get("/nowhere", key: key).status == 404, "no API: not a usage record")

                    let stored = try await portico.waitForCalls(10, consumer: consumer.id)
                    #expect(stored.byClass == [7, 0, 3, 0])
                    #expect(stored.rateLimited == 3)
                    #expect(stored.bytesOut > 0)
                    #expect(stored.latency.reduce(0, +) == 10)
                }

                try await portico.controlPlane().test(.router) { client in
                    let series = try await client.execute(
                        uri: "/api/v1/usage?user=\(consumer.email)&api=orders&granularity=hour", method: .get,
                        headers: [.authorization: "Bearer \(portico.adminToken)"]
                    ) { response in
                        #expect(response.status == .ok)
                        return try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    }
                    let points = try #require(series?["points"] as? [[String: Any]])
                    #expect(points.count == 24 || points.count == 25, "the last 24 hours, hour by hour")
                    let totals = points.compactMap { ($0["requests"] as? [String: Any])?["total"] as? Int }
                    #expect(totals.reduce(0, +) == 10)
                    let busy = try #require(points.first { (($0["requests"] as? [String: Any])?["total"] as? Int) == 10 })
                    #expect((busy["requests"] as? [String: Any])?["4xx"] as? Int == 3)
                    #expect(busy["rateLimited"] as? Int == 3)
                    #expect((busy["latency"] as? [String: Any])?["p95"] is Double)
                    #expect(series?["api"] as? String == "orders")

                    for (query, field) in [
                        ("granularity=minute", "granularity"), ("from=yesterday", "from"), ("user=nobody@example.com", "user"),
                        ("api=missing", "api"), ("from=2026-02-01&to=2026-01-01", "from"), ("granularity=hour&from=2020-01-01&to=2026-01-01", "from"),
                    ] {
                        try await client.execute(
                            uri: "/api/v1/usage?\(query)", method: .get, headers: [.authorization: "Bearer \(portico.adminToken)"]
                        ) { response in
                            #expect(response.status == .unprocessableContent, "\(query)")
                            let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                            #expect((body?["message"] as? String)?.hasPrefix(field) == true, "\(query): \(body ?? [:])")
                        }
                    }
                }
                _ = api
            }
        }
    }

    @Test func oldRecordsArePrunedAfterTheRetention() async throws {
        try await withTestPortico { portico in
            let repository = UsageRepository(logger: portico.database.logger)
            let now = Int64(Date().timeIntervalSince1970) / 3_600 * 3_600
            var counts = UsageCounts()
            counts.record(status: 200, rateLimited: false, bytesIn: 0, bytesOut: 0, latencyNanos: 1)
            let (consumer, api, recorded) = (UUID(), UUID(), counts)
            try await portico.database.transaction { connection in
                try await repository.add(
                    [
                        UsageRow(consumer: consumer, api: api, hour: now - 91 * 86_400, counts: recorded),
                        UsageRow(consumer: consumer, api: api, hour: now - 89 * 86_400, counts: recorded),
                    ], on: connection)
                try await repository.prune(olderThanDays: 90, nowSeconds: now, on: connection)
            }
            let left = try await portico.store.read { connection in
                try await repository.series(consumers: [consumer], api: nil, from: now - 100 * 86_400, to: now, bucketSeconds: 86_400, on: connection)
            }
            #expect(left.count == 1)
        }
    }

    /// Polls the stored usage of `consumer` until it counts `calls` calls (the writer flushes every 200 ms here).
}
