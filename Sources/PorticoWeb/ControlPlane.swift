import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import PorticoCore
import PorticoGateway
import PorticoStore
import Prometheus

/// How the control plane listens and what it tells browsers and consumers.
public struct ControlPlaneConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Seals JWT signing secrets given as literals (`PORTICO_SECRET_KEY`).
    public var secretBox: SecretBox?
    /// Marks session cookies `Secure` even when the request did not say it came over TLS (`X-Forwarded-Proto`).
    public var secureCookies: Bool
    /// Where consumers reach the gateway, for the portal's curl examples.
    public var gatewayURL: String
    public var sessions: SignInService.SessionPolicy
    public var signInThrottle: SignInThrottle
    /// Portico's origin as browsers reach it (`PORTICO_PUBLIC_URL`), for the redirect URIs identity providers send
    /// browsers back to; by default `http://host:port`.
    public var publicURL: String?
    /// Whether the sign-in pages take passwords (`PORTICO_PASSWORD_SIGN_IN`); identity providers are then the only way in.
    public var passwordSignIn: Bool
    /// The embedded gateway's rate limiter, whose counting `/readyz` reports (`local`, `cluster` or `degraded`).
    public var rateLimiter: RateLimiter?
    /// The embedded gateway's drain, which `/readyz` reports.
    public var gatewayDraining: DrainState?
    /// The certificate the control plane presents when it terminates TLS itself (`--tls-cert`, `--tls-key`).
    public var tls: ServerCertificate?
    /// The gateway of this process, for the portal's try-it console; nil offers none.
    public var tryIt: TryItRoute?
    /// The gateway of this process, whose decision explains requests (`POST /api/v1/explain`, the dashboard's
    /// Explain page); without it they answer 503.
    public var explainer: RequestExplainer?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, secretBox: SecretBox? = nil, secureCookies: Bool = false,
        gatewayURL: String = "http://127.0.0.1:8000", sessions: SignInService.SessionPolicy = .init(),
        signInThrottle: SignInThrottle = .standard, publicURL: String? = nil, passwordSignIn: Bool = true, rateLimiter: RateLimiter? = nil
    ) {
        self.rateLimiter = rateLimiter
        self.publicURL = publicURL
        self.passwordSignIn = passwordSignIn
        self.host = host
        self.port = port
        self.secretBox = secretBox
        self.secureCookies = secureCookies
        self.gatewayURL = gatewayURL
        self.sessions = sessions
        self.signInThrottle = signInThrottle
    }
}

/// Builds the control plane (admin JSON API, dashboard, portal, probes, metrics) so that `portico serve` and the
/// tests run the very same application.
public func buildControlPlane(
    configuration: ControlPlaneConfiguration, store: AdminStore, policy: PolicyHolder, registry: PrometheusCollectorRegistry,
    gatewayMetrics: GatewayMetrics, pages: PageRenderer, logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> Application<RouterResponder<AdminRequestContext>> {
    let router = buildControlPlaneRouter(
        configuration: configuration, store: store, policy: policy, registry: registry, gatewayMetrics: gatewayMetrics, pages: pages)
    return Application(
        router: router,
        server: try configuration.tls.map { try .tls(ControlPlaneServer.http1, tlsConfiguration: $0.serverConfiguration) }
            ?? ControlPlaneServer.http1,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        onServerRunning: onServerRunning,
        logger: logger)
}

/// Every route of the control plane; the admin API's document is checked against its `routes`.
public func buildControlPlaneRouter(
    configuration: ControlPlaneConfiguration, store: AdminStore, policy: PolicyHolder, registry: PrometheusCollectorRegistry,
    gatewayMetrics: GatewayMetrics, pages: PageRenderer
) -> Router<AdminRequestContext> {
    let router = Router(context: AdminRequestContext.self)
    router.middlewares.add(JSONErrorMiddleware())
    let health = HealthController<AdminRequestContext>(
        readiness: Readiness(
            database: store.database, policy: policy, rateLimiter: configuration.rateLimiter, draining: configuration.gatewayDraining),
        registry: registry,
        controlPlane: true)
    health.addRoutes(to: router.group())
    health.addRoutes(to: router.group("api/v1"))
    router.get("api/v1/openapi.json") { _, _ in pages.adminAPIDocumentResponse }
    let api = router.group("api/v1").add(middleware: AdminAuthMiddleware(tokens: AdminTokenService(store: store)))
    let (users, groups, apis, accesses, keys) = (
        UserService(store: store), GroupService(store: store), APIService(store: store), AccessService(store: store), KeyService(store: store)
    )
    let authSettings = AuthSettingsService(store: store, secretBox: configuration.secretBox)
    let invitations = InvitationService(store: store)
    let plans = PlanService(store: store)
    let usage = UsageService(store: store)
    let identityProviders = IdentityProviderService(store: store, secretBox: configuration.secretBox)
    let documents = APIDocumentService(store: store)
    let catalog = CatalogService(store: store)
    let explain = ExplainService(store: store, explainer: configuration.explainer, gatewayURL: configuration.gatewayURL)
    let refusals = RefusalService(store: store)
    let applications = ApplicationService(store: store)
    let keyPolicy = KeyPolicyService(store: store)
    AdminAPIController(
        users: users, groups: groups, apis: apis, documents: documents, accesses: accesses, plans: plans, usage: usage, keys: keys,
        authSettings: authSettings,
        identityProviders: identityProviders, catalog: catalog, explain: explain, refusals: refusals,
        applications: applications, keyPolicy: keyPolicy, store: store
    ).addRoutes(to: api)

    let signIn = SignInService(store: store, throttle: configuration.signInThrottle, policy: configuration.sessions)
    let sessionMiddleware = WebSessionMiddleware(signIn: signIn, secureCookies: configuration.secureCookies, renderer: pages)
    let providerSignIn = ProviderSignInService(
        store: store, sessions: signIn, secretBox: configuration.secretBox,
        publicURL: configuration.publicURL ?? "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(configuration.port)")
    func signInPages(_ area: WebArea) -> SignInController {
        SignInController(area: area, renderer: pages, signIn: signIn, providers: providerSignIn, passwordSignIn: configuration.passwordSignIn)
    }
    DashboardController(
        renderer: pages, signInPages: signInPages(.dashboard), users: users, groups: groups, apis: apis, documents: documents,
        accesses: accesses, plans: plans,
        usage: usage, keys: keys, invitations: invitations,
        authSettings: authSettings, identityProviders: identityProviders, audit: AuditService(store: store), overview: OverviewService(store: store),
        catalog: catalog, explain: explain, refusals: refusals, applications: applications, keyPolicy: keyPolicy,
        policy: policy,
        gatewayMetrics: gatewayMetrics, versions: RowVersionReader(store: store)
    ).addRoutes(to: router.group("admin").add(middleware: sessionMiddleware))
    PortalController(
        renderer: pages, signInPages: signInPages(.portal), consumerAccess: ConsumerAccessService(store: store),
        usage: usage, keys: keys, invitations: invitations,
        authSettings: authSettings, documents: documents,
        gatewayURL: configuration.gatewayURL, tryIt: configuration.tryIt.map { TryItService(route: $0) },
        catalog: catalog, explain: explain, applications: applications, keyPolicy: keyPolicy
    ).addRoutes(to: router.group("portal").add(middleware: sessionMiddleware))
    ProviderCallbackController(renderer: pages, providers: providerSignIn).addRoutes(to: router.group("oidc").add(middleware: sessionMiddleware))
    router.get("assets/portico.css") { _, _ in pages.stylesheetResponse }
    router.get("assets/portico.js") { _, _ in pages.scriptResponse }
    router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/admin"]) }
    return router
}
