import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PorticoCore
import PorticoDemo
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoWeb
import PostgresNIO
import Prometheus
import ServiceLifecycle

struct GatewayOptions: ParsableArguments {
    @Option(help: "Address both servers bind to.") var host: String = "127.0.0.1"
    @Option(name: .customLong("gateway-port"), help: "Port of the embedded gateway.") var gatewayPort: Int = 8000
    @Option(name: .customLong("upstream-timeout"), help: "Seconds of upstream silence before a 504.") var upstreamTimeout: Double = 30
    @Option(name: .customLong("upstream-connect-timeout"), help: "Seconds to connect to an upstream before a 504.")
    var upstreamConnectTimeout: Double = 2
    @Option(name: .customLong("policy-poll-interval"), help: "Seconds between policy version checks (LISTEN/NOTIFY is the fast path).")
    var pollInterval: Double = 30
    @Option(
        name: .customLong("rate-limit-headers"),
        help: "Rate-limit fields on responses: x (X-RateLimit-*), ietf (RateLimit-Policy and RateLimit), both or none.")
    var rateLimitHeaders: RateLimitHeaderStyle = .both
    @Option(
        name: .customLong("rate-limit-store"),
        help:
            "Where rate limits are counted: cluster (shared by every replica on the database) or local (this process alone); quotas are always counted in the database."
    )
    var rateLimitStore: RateLimitStore = .cluster
    @Option(
        name: .customLong("rate-limit-sync"), help: "Milliseconds between the syncs of quotas and of a cluster store's rate limits with the database."
    )
    var rateLimitSync: Int = 200
    @Option(
        name: .customLong("rate-limit-fail"),
        help: "Shared counting without its database: open (each replica enforces its share) or closed (503 on grants with a shared limit).")
    var rateLimitFail: RateLimitFailMode = .open
    @Option(name: .customLong("usage-retention-days"), help: "Days usage records are kept before they are pruned.")
    var usageRetentionDays: Int = 90
    @Option(
        name: .customLong("drain-seconds"),
        help: "On SIGTERM: seconds requests in flight may take to finish before the process exits anyway.")
    var drainSeconds: Int = 15
    @Option(
        name: .customLong("tls-cert"),
        help: "PEM certificate chain: the gateway (and the control plane) terminate TLS 1.2/1.3 themselves; re-read when the file changes.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert; re-read when the file changes.")
    var tlsKey: String?
    @Flag(
        name: .customLong("access-log"),
        help:
            "Log every gateway request at info as 'portico.access': request id, method, path (no query), API, consumer, status, durations and the deciding step."
    )
    var accessLog = false

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard rateLimitSync >= 10 else { throw ValidationError("--rate-limit-sync must be at least 10 (milliseconds)") }
        guard usageRetentionDays >= 1 else { throw ValidationError("--usage-retention-days must be at least 1") }
        guard drainSeconds >= 0 else { throw ValidationError("--drain-seconds must be 0 or more") }
    }

    /// The certificate pair, checked now: a one-line error names the file at fault.
    func certificate(logger: Logger) throws -> ServerCertificate? {
        guard let tlsCertificate, let tlsKey else { return nil }
        do {
            return try ServerCertificate(certificatePath: tlsCertificate, keyPath: tlsKey, logger: logger)
        } catch {
            throw CLI.fail(CLIFailure("TLS: \(error.description)"))
        }
    }

    var scheme: String { tlsCertificate == nil ? "http" : "https" }

    /// The gateway as this process reaches it: over loopback when it listens on every address.
    var loopbackURL: String {
        let reached: String
        switch host {
        case "", "0.0.0.0", "*": reached = "127.0.0.1"
        case "::", "[::]": reached = "[::1]"
        default: reached = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
        return "\(scheme)://\(reached):\(gatewayPort)"
    }

    var configuration: GatewayConfiguration {
        var configuration = GatewayConfiguration(
            host: host, port: gatewayPort,
            timeouts: UpstreamTimeouts(connect: .milliseconds(Int(upstreamConnectTimeout * 1000)), read: .milliseconds(Int(upstreamTimeout * 1000))),
            rateLimitHeaders: rateLimitHeaders, rateLimitStore: rateLimitStore, rateLimitFail: rateLimitFail,
            drainNotice: min(.seconds(1), .seconds(drainSeconds)), drainTimeout: .seconds(drainSeconds))
        if accessLog { configuration.accessLog = Logger(label: "portico.access") }
        return configuration
    }
}

extension RateLimitHeaderStyle: ExpressibleByArgument {}
extension RateLimitStore: ExpressibleByArgument {}
extension RateLimitFailMode: ExpressibleByArgument {}

/// Everything one `portico` process runs, started in order and stopped in reverse by one service group.
struct Runtime {
    let services: [any Service]
    let drainLimit: Duration

    struct ControlPlaneSetup {
        let port: Int
        let pages: PageRenderer
        let secureCookies: Bool
        let sessionIdleMinutes: Int
        let publicURL: String?
        let publicGatewayURL: String?
        let passwordSignIn: Bool
        let rediscoveryInterval: Duration
    }

    init(
        url: DatabaseURL, gatewayOptions: GatewayOptions, certificate: ServerCertificate?, controlPlane: ControlPlaneSetup?, statusPort: Int?,
        secretBox: SecretBox?, logger: Logger
    ) throws {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: CLI.quiet(logger))
        let database = Database(client: client, logger: logger)
        let registry = PrometheusCollectorRegistry()
        let metrics = GatewayMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let holder = PolicyHolder()
        var gatewayConfiguration = gatewayOptions.configuration
        gatewayConfiguration.secretBox = secretBox
        gatewayConfiguration.tls = certificate
        // The portal's try-it passes are signed and checked in this process only, with a key it never writes down.
        let passes = controlPlane == nil ? nil : TryItPassSigner.random()
        gatewayConfiguration.tryItPasses = passes
        let gateway = Gateway(
            configuration: gatewayConfiguration, policyPollInterval: .milliseconds(Int(gatewayOptions.pollInterval * 1000)),
            rateLimitSync: .milliseconds(gatewayOptions.rateLimitSync), usageRetentionDays: gatewayOptions.usageRetentionDays, policy: holder,
            database: database, metrics: metrics, logger: logger)
        var services: [any Service] = [client]
        // Before the gateway, so that it stops after it: it says `draining` while the gateway drains.
        if let statusPort {
            services.append(
                buildGatewayStatusServer(
                    host: gatewayOptions.host, port: statusPort,
                    readiness: Readiness(database: database, policy: holder, rateLimiter: gateway.server.limiter, draining: gateway.server.draining),
                    registry: registry, logger: logger))
        }
        services.append(contentsOf: gateway.services)
        if let controlPlane {
            var configuration = ControlPlaneConfiguration(
                host: gatewayOptions.host, port: controlPlane.port, secretBox: secretBox,
                // Over TLS of its own, cookies are Secure whatever the flag says.
                secureCookies: controlPlane.secureCookies || certificate != nil,
                gatewayURL: controlPlane.publicGatewayURL ?? "\(gatewayOptions.scheme)://\(gatewayOptions.host):\(gatewayOptions.gatewayPort)",
                sessions: .init(idleSeconds: controlPlane.sessionIdleMinutes * 60), publicURL: controlPlane.publicURL,
                passwordSignIn: controlPlane.passwordSignIn, rateLimiter: gateway.server.limiter)
            configuration.gatewayDraining = gateway.server.draining
            configuration.tls = certificate
            configuration.tryIt = passes.map { TryItRoute(signer: $0, gatewayURL: gatewayOptions.loopbackURL) }
            configuration.explainer = gateway.server.explainer
            let store = AdminStore(database: database)
            services.append(
                try buildControlPlane(
                    configuration: configuration, store: store, policy: holder, registry: registry,
                    gatewayMetrics: metrics, pages: controlPlane.pages, logger: logger))
            services.append(ProviderRediscovery(store: store, interval: controlPlane.rediscoveryInterval))
            services.append(PolicyLogPruner(database: database))
        }
        self.services = services
        self.drainLimit = .seconds(gatewayOptions.drainSeconds)
    }

    func run(logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // The gateway drains within its own limit; whatever is still running some time after is cancelled, so the
        // process always exits.
        configuration.maximumGracefulShutdownDuration = drainLimit + .seconds(15)
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the control plane (admin API) and the embedded gateway.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var secretKey: SecretKeyOptions
    @Option(name: .customLong("admin-port"), help: "Port of the admin API and dashboard.") var adminPort: Int = 8080
    @Option(help: "Folder of the dashboard's templates (or PORTICO_TEMPLATES).") var templates: String?
    @Flag(name: .customLong("secure-cookies"), help: "Mark session cookies Secure (behind a TLS-terminating proxy).")
    var secureCookies = false
    @Option(name: .customLong("session-idle-minutes"), help: "Dashboard and portal sessions end after this much inactivity.")
    var sessionIdleMinutes = 30
    @Option(
        name: .customLong("public-url"),
        help: "Portico's origin as browsers reach it, for identity providers' redirect URIs (or PORTICO_PUBLIC_URL; default http://host:admin-port).")
    var publicURL: String?
    @Option(
        name: .customLong("public-gateway-url"),
        help:
            "The gateway as consumers reach it, for the portal's curl lines and OpenAPI documents (or PORTICO_PUBLIC_GATEWAY_URL; default http://host:gateway-port)."
    )
    var publicGatewayURL: String?
    @Option(
        name: .customLong("provider-rediscovery-minutes"),
        help: "Minutes between re-reads of the identity providers' discovery documents.")
    var providerRediscoveryMinutes = 60

    /// An absolute http(s) URL without a query: what the portal puts before an API's path.
    static func checkedGatewayURL(_ text: String) throws -> String {
        guard let url = URLComponents(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
            url.query == nil, url.fragment == nil
        else { throw CLI.fail(CLIFailure("--public-gateway-url: '\(text)' is not an absolute http(s) URL without a query")) }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    func run() async throws {
        let logger = logging.logger("portico")
        // Checked before anything else starts: a bad certificate pair is a one-line error, not a half-started server.
        let certificate = try gateway.certificate(logger: logger)
        let url = try await database.reachableURL(logger: logger)
        logger.info(
            "portico serving",
            metadata: [
                "admin": "\(gateway.scheme)://\(gateway.host):\(adminPort)",
                "gateway": "\(gateway.scheme)://\(gateway.host):\(gateway.gatewayPort)",
                "database": "\(url)",
            ])
        let box = try secretKey.box()
        let folder = templates ?? ProcessInfo.processInfo.environment["PORTICO_TEMPLATES"] ?? "templates"
        let pages: PageRenderer
        do {
            pages = try await PageRenderer.load(directory: folder)
        } catch {
            throw CLI.fail(CLIFailure("the dashboard's templates cannot be loaded: \(error)"))
        }
        let environment = ProcessInfo.processInfo.environment
        let passwordSignIn: Bool
        switch environment["PORTICO_PASSWORD_SIGN_IN"]?.lowercased() {
        case nil, "", "true", "1", "yes": passwordSignIn = true
        case "false", "0", "no": passwordSignIn = false
        case let other?: throw CLI.fail(CLIFailure("PORTICO_PASSWORD_SIGN_IN: '\(other)' is not true or false"))
        }
        let controlPlane = Runtime.ControlPlaneSetup(
            port: adminPort, pages: pages, secureCookies: secureCookies, sessionIdleMinutes: max(sessionIdleMinutes, 1),
            publicURL: publicURL ?? environment["PORTICO_PUBLIC_URL"],
            publicGatewayURL: try (publicGatewayURL ?? environment["PORTICO_PUBLIC_GATEWAY_URL"]).map(Self.checkedGatewayURL),
            passwordSignIn: passwordSignIn,
            rediscoveryInterval: .seconds(60 * max(providerRediscoveryMinutes, 1)))
        try await Runtime(
            url: url, gatewayOptions: gateway, certificate: certificate, controlPlane: controlPlane, statusPort: nil, secretBox: box, logger: logger
        ).run(logger: logger)
    }
}

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "Run the embedded gateway alone (no control plane).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var secretKey: SecretKeyOptions
    @Option(
        name: .customLong("status-port"),
        help: "Port of the status listener (/healthz, /readyz, /metrics) for load balancers and scrapers; 0 turns it off.")
    var statusPort: Int = 8100

    func run() async throws {
        let logger = logging.logger("portico.gateway")
        let certificate = try gateway.certificate(logger: logger)
        let url = try await database.reachableURL(logger: logger)
        let box = try secretKey.box()
        try await Runtime(
            url: url, gatewayOptions: gateway, certificate: certificate, controlPlane: nil, statusPort: statusPort == 0 ? nil : statusPort,
            secretBox: box, logger: logger
        ).run(logger: logger)
    }
}

struct DemoUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-upstream", abstract: "Run a small echo upstream for demos and tests.")

    @Option var host: String = "127.0.0.1"
    @Option var port: Int = 9000

    func run() async throws {
        let app = Application(responder: EchoUpstream(), configuration: .init(address: .hostname(host, port: port), serverName: nil))
        try await app.runService()
    }
}
