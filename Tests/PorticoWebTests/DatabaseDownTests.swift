import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PorticoCore
import PorticoGateway
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import PostgresNIO
import Prometheus
import Testing

/// With PostgreSQL unreachable the control plane answers 503 at once, never hangs, and the gateway's
/// policy holder keeps the last snapshot.
@Suite struct DatabaseDownTests {
    func withUnreachableDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        let url = try DatabaseURL("postgres://postgres@127.0.0.1:\(try freeLoopbackPort())/portico?sslmode=disable")
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: TestDatabase.logger)
        try await withServices([client]) {
            try await body(Database(client: client, logger: TestDatabase.logger, operationTimeout: .milliseconds(500)))
        }
    }

    @Test func theAdminAPIAnswers503JSONWhenTheDatabaseIsDown() async throws {
        try await withUnreachableDatabase { database in
            let registry = PrometheusCollectorRegistry()
            // A gateway that loaded its policy before the database went away.
            let policy = PolicyHolder()
            policy.install(.empty)
            policy.confirmCurrent(at: Date().addingTimeInterval(-42))
            let app = try buildControlPlane(
                configuration: .init(port: 0), store: AdminStore(database: database), policy: policy,
                registry: registry, gatewayMetrics: GatewayMetrics(factory: PrometheusMetricsFactory(registry: registry)),
                pages: try await TestDatabase.pages(), logger: TestDatabase.logger)
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/api/v1/users", method: .get, headers: [.authorization: "Bearer \(SecretFormat.adminToken.generate().secret)"]
                ) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String]
                    #expect(body?["error"] == "unavailable")
                    #expect(body?["message"]?.contains("database") == true)
                }
                try await client.execute(uri: "/readyz/control-plane", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(String(buffer: response.body).contains(#""database":"down""#))
                }
                // The gateway role stays ready on its snapshot, and says how old it is and that the database is down.
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    #expect(body?["database"] as? String == "down")
                    #expect(body?["status"] as? String == "ready")
                    #expect((body?["snapshotAgeSeconds"] as? Double ?? 0) >= 42)
                }
            }
        }
    }

    @Test func theLastSnapshotStaysWhenAReloadFails() async throws {
        try await withTestPortico { portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 1)
            await portico.reloadPolicy()
            let loaded = portico.policy.snapshot
            try await withUnreachableDatabase { down in
                #expect(await PolicyFeed(database: down, holder: portico.policy, loadTimeout: .milliseconds(500)).reload() == false)
            }
            #expect(portico.policy.isLoaded)
            #expect(portico.policy.snapshot === loaded)
            #expect(portico.policy.snapshot.routes.match(path: "/orders", host: String?.none)?.name == "orders")
        }
    }
}
