import Foundation
import Hummingbird
import Logging
import NIOCore
import PorticoCore
import PorticoStore
import Prometheus

public struct ControlPlaneConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Seals JWT signing secrets given as literals (`PORTICO_SECRET_KEY`).
    public var secretBox: SecretBox?

    public init(host: String = "127.0.0.1", port: Int = 8080, secretBox: SecretBox? = nil) {
        self.host = host
        self.port = port
        self.secretBox = secretBox
    }
}

/// Builds the control plane (admin JSON API, probes, metrics) so that `portico serve` and the tests run
/// the very same application.
public func buildControlPlane(
    configuration: ControlPlaneConfiguration, store: AdminStore, policy: PolicyHolder, registry: PrometheusCollectorRegistry, logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<AdminRequestContext>> {
    let router = Router(context: AdminRequestContext.self)
    router.middlewares.add(JSONErrorMiddleware())
    let health = HealthController(database: store.database, policy: policy, registry: registry)
    health.addRoutes(to: router.group())
    health.addRoutes(to: router.group("api/v1"))
    let api = router.group("api/v1").add(middleware: AdminAuthMiddleware(tokens: AdminTokenService(store: store)))
    AdminAPIController(
        users: UserService(store: store), groups: GroupService(store: store), apis: APIService(store: store),
        accesses: AccessService(store: store), keys: KeyService(store: store), authSettings: AuthSettingsService(store: store, secretBox: configuration.secretBox)
    ).addRoutes(to: api)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: onServerRunning,
        logger: logger)
}
