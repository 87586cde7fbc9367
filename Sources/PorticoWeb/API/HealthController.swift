import Foundation
import Hummingbird
import PorticoCore
import PorticoGateway
import PorticoStore
import Prometheus

struct ReadinessView: Codable {
    var status: String
    var database: String
    var policyLoaded: Bool
    var policyVersion: Int64
    /// The rate-limit store (`local`, `cluster`), or `degraded` while the gateway cannot share its counts with the
    /// database (quotas always, rate limits with a cluster store: each replica then enforces its share of each
    /// limit); absent without an embedded gateway.
    var rateLimitCounting: String?
}

/// Probes and metrics: no credential, since orchestrators and scrapers carry none.
struct HealthController {
    let database: Database
    let policy: PolicyHolder
    let registry: PrometheusCollectorRegistry
    let rateLimiter: RateLimiter?

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("healthz") { _, _ in JSONResponse(["status": "ok"]) }
        group.get("readyz") { _, _ in
            // Probes have short deadlines of their own; answer within them.
            let probe = Database(client: database.client, logger: database.logger, operationTimeout: .seconds(2))
            let databaseUp =
                (try? await probe.read { connection in
                    try await connection.query("SELECT 1", logger: database.logger)
                    return true
                }) ?? false
            let snapshot = policy.snapshot
            let ready = databaseUp && policy.isLoaded
            let view = ReadinessView(
                status: ready ? "ready" : "not_ready", database: databaseUp ? "up" : "down",
                policyLoaded: policy.isLoaded, policyVersion: snapshot.version,
                rateLimitCounting: rateLimiter.map { $0.health.isDegraded ? "degraded" : $0.store.rawValue })
            return JSONResponse(view, status: ready ? .ok : .serviceUnavailable)
        }
        group.get("metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
