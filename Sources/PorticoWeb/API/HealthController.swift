import Foundation
import Hummingbird
import Logging
import NIOCore
import PorticoCore
import PorticoGateway
import PorticoStore
import Prometheus

/// A gateway's readiness: it can serve traffic while it holds a policy snapshot, whether or not PostgreSQL answers
/// (the snapshot serves through a database outage, so a load balancer must not take every gateway out then),
/// until it begins to drain.
struct GatewayReadinessView: Codable {
    var status: String
    var role = "gateway"
    var policyLoaded: Bool
    var policyVersion: Int64
    /// Seconds since the snapshot was last known to match the database; nil before the first load.
    var snapshotAgeSeconds: Double?
    var database: String
    /// The rate-limit store (`local`, `cluster`), or `degraded` while the gateway cannot share its counts with the
    /// database (quotas always, rate limits with a cluster store: each replica then enforces its share of each
    /// limit).
    var rateLimitCounting: String?
}

/// The control plane's readiness: it cannot change anything without its database.
struct ControlPlaneReadinessView: Codable {
    var status: String
    var role = "control-plane"
    var database: String
    var policyLoaded: Bool
    var policyVersion: Int64
}

/// What the probes look at.
public struct Readiness: Sendable {
    let database: Database
    let policy: PolicyHolder
    let rateLimiter: RateLimiter?
    let draining: DrainState?

    public init(database: Database, policy: PolicyHolder, rateLimiter: RateLimiter?, draining: DrainState?) {
        self.database = database
        self.policy = policy
        self.rateLimiter = rateLimiter
        self.draining = draining
    }

    /// Probes have short deadlines of their own; this answers within them.
    func databaseReachable() async -> Bool {
        let probe = Database(client: database.client, logger: database.logger, operationTimeout: .seconds(2))
        return
            (try? await probe.read { connection in
                try await connection.query("SELECT 1", logger: database.logger)
                return true
            }) ?? false
    }

    func gateway() async -> (ready: Bool, view: GatewayReadinessView) {
        let databaseUp = await databaseReachable()
        let isDraining = draining?.isDraining == true
        let ready = policy.isLoaded && !isDraining
        let age = policy.lastConfirmed.map { max(0, (Date().timeIntervalSince($0) * 10).rounded() / 10) }
        return (
            ready,
            GatewayReadinessView(
                status: isDraining ? "draining" : ready ? "ready" : "not_ready", policyLoaded: policy.isLoaded,
                policyVersion: policy.snapshot.version, snapshotAgeSeconds: age,
                database: databaseUp ? "up" : "down", rateLimitCounting: rateLimiter.map { $0.health.isDegraded ? "degraded" : $0.store.rawValue })
        )
    }

    func controlPlane() async -> (ready: Bool, view: ControlPlaneReadinessView) {
        let databaseUp = await databaseReachable()
        let ready = databaseUp && policy.isLoaded
        return (
            ready,
            ControlPlaneReadinessView(
                status: ready ? "ready" : "not_ready", database: databaseUp ? "up" : "down", policyLoaded: policy.isLoaded,
                policyVersion: policy.snapshot.version)
        )
    }
}

/// Probes and metrics: no credential, since orchestrators and scrapers carry none. `/readyz` is the gateway's
/// readiness (what a load balancer in front of gateways asks); `/readyz/control-plane` needs the database too.
struct HealthController<Context: RequestContext> {
    let readiness: Readiness
    let registry: PrometheusCollectorRegistry
    let controlPlane: Bool

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("healthz") { _, _ in JSONResponse(["status": "ok"]) }
        group.get("readyz") { _, _ in
            let (ready, view) = await readiness.gateway()
            return JSONResponse(view, status: ready ? .ok : .serviceUnavailable)
        }
        if controlPlane {
            group.get("readyz/control-plane") { _, _ in
                let (ready, view) = await readiness.controlPlane()
                return JSONResponse(view, status: ready ? .ok : .serviceUnavailable)
            }
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

/// A gateway replica's status listener (`portico gateway --status-port`), apart from the port that routes APIs:
/// `/healthz`, `/readyz` and `/metrics`, as Kong's status API.
public func buildGatewayStatusServer(
    host: String, port: Int, readiness: Readiness, registry: PrometheusCollectorRegistry, logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    HealthController<BasicRequestContext>(readiness: readiness, registry: registry, controlPlane: false).addRoutes(to: router.group())
    return Application(
        router: router, server: ControlPlaneServer.http1, configuration: .init(address: .hostname(host, port: port), serverName: nil),
        onServerRunning: onServerRunning,
        logger: logger)
}
