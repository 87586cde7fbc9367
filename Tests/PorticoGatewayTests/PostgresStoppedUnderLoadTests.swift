import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PorticoCore
import PorticoGateway
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import PostgresNIO
import Testing

/// PostgreSQL gone for 8 s of a 20 s load through two gateway replicas (the connection between Portico and the
/// database cut): no gateway request fails, the control plane answers 503 (JSON for the admin API, a page for the
/// dashboard), `/readyz` stays ready and says the database is down while `/readyz/control-plane` does not; once the
/// database is back, what was written before the outage is there and what was attempted during it is not.
@Suite struct PostgresStoppedUnderLoadTests {
    @Test(.timeLimit(.minutes(4))) func theSnapshotServesAndNoWriteIsHalfApplied() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])

                let proxy = try await TCPProxy(to: URLComponents(string: portico.testDatabase.url.connectionString)?.port ?? 5432)
                var components = URLComponents(string: portico.testDatabase.url.connectionString)
                components?.port = proxy.port
                let client = PostgresClient(
                    configuration: try DatabaseURL(components?.string ?? "").configuration, backgroundLogger: TestDatabase.logger)
                let database = Database(client: client, logger: TestDatabase.logger, operationTimeout: .milliseconds(500))
                try await withServices([client]) {
                    try await portico.withGateways(count: 2, gatewayDatabase: database) { gateways in
                        let app = try buildControlPlane(
                            configuration: .init(port: 0, secretBox: portico.secretBox, rateLimiter: gateways[0].gateway.server.limiter),
                            store: AdminStore(database: database), policy: portico.policy, registry: portico.registry,
                            gatewayMetrics: portico.metrics, pages: portico.pages, logger: TestDatabase.logger)
                        try await app.test(.router) { controlPlane in
                            try await Self.outage(proxy: proxy, gateways: gateways, key: key, controlPlane: controlPlane, token: portico.adminToken)
                        }
                    }
                }
                await proxy.cut()
            }
        }
    }

    static func outage(proxy: TCPProxy, gateways: [GatewayHandle], key: String, controlPlane: some TestClientProtocol, token: String) async throws {
        let admin: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = admin) async throws -> (
            HTTPResponse.Status, String, String?
        ) {
            try await controlPlane.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
                ($0.status, String(buffer: $0.body), $0.headers[.contentType])
            }
        }
        let loads = gateways.map { ConstantLoad(url: "\($0.baseURL)/orders", key: key, clients: 2) }
        let running = loads.map { load in Task { await load.run() } }
        let clock = ContinuousClock()
        let started = clock.now

        try await Task.sleep(for: .seconds(3))
        #expect(try await call(.post, "/api/v1/groups", #"{"name":"before-outage"}"#).0 == .created)

        await proxy.cut()
        try await Task.sleep(for: .seconds(1))
        let refused = try await call(.post, "/api/v1/groups", #"{"name":"during-outage"}"#)
        #expect(refused.0 == .serviceUnavailable)
        #expect(refused.1.contains(#""error":"unavailable""#), "\(refused.1)")
        let page = try await call(.get, "/admin/groups", headers: [.cookie: "portico_session=\(SecretFormat.session.generate().secret)"])
        #expect(page.0 == .serviceUnavailable)
        #expect(page.2?.hasPrefix("text/html") == true, "\(page.2 ?? "")")
        let gatewayReady = try await call(.get, "/readyz")
        #expect(gatewayReady.0 == .ok)
        #expect(gatewayReady.1.contains(#""database":"down""#))
        #expect(try await call(.get, "/readyz/control-plane").0 == .serviceUnavailable)

        try await Task.sleep(until: started + .seconds(12))
        try await proxy.resume()
        // The database client reconnects with a backoff of its own.
        let deadline = clock.now + .seconds(90)
        while clock.now < deadline, try await call(.get, "/api/v1/groups").0 != .ok { try await Task.sleep(for: .milliseconds(200)) }
        try await Task.sleep(until: max(clock.now, started + .seconds(20)))
        for load in loads { load.stop() }
        var counts: [Int: Int] = [:]
        for task in running { counts.merge(await task.value, uniquingKeysWith: +) }
        print("gateway answers through the outage: \(counts)")
        #expect(counts.keys.sorted() == [200], "\(counts)")

        let groups = try await call(.get, "/api/v1/groups")
        #expect(groups.0 == .ok)
        #expect(groups.1.contains("before-outage"))
        #expect(!groups.1.contains("during-outage"), "a write refused during the outage was applied")
    }
}
