import Logging
import NIOCore
import PorticoCore
import PorticoGateway
import PorticoStore
import ServiceLifecycle

/// A running gateway, assembled: the data plane, the policy feed that keeps its snapshot current, and the writer
/// of what it reports. `portico serve`, `portico gateway` and the tests run these same services.
public struct Gateway: Sendable {
    public let server: GatewayServer
    public let feed: PolicyFeed
    public let usage: UsageRecorder
    public let metrics: GatewayMetrics
    /// In start order (a service group stops them in reverse): the feeds, the usage writer, the server.
    public let services: [any Service]

    /// `usageFlushInterval` paces the batched writes of key uses and token users; `policyPollInterval` the
    /// version check that backs up LISTEN/NOTIFY; `rateLimitSync` the syncs of quotas and of a cluster store's rate limits.
    public init(
        configuration: GatewayConfiguration, usageFlushInterval: Duration = .seconds(10), policyPollInterval: Duration = .seconds(30),
        rateLimitSync: Duration = .milliseconds(200), usageRetentionDays: Int = 90,
        policy: PolicyHolder, database: Database, metrics: GatewayMetrics, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) {
        let usage = UsageRecorder()
        let sessions = OIDCSessions(store: PostgresOIDCSessionStore(database: database, box: configuration.secretBox))
        let server = GatewayServer(
            configuration: configuration, policy: policy, usage: usage, metrics: metrics, logger: logger, oidcSessions: sessions,
            onServerRunning: onServerRunning)
        let feed = PolicyFeed(
            database: database, holder: policy, pollInterval: policyPollInterval, onReload: { metrics.recordReload(version: $0.version) })
        self.server = server
        self.feed = feed
        self.usage = usage
        self.metrics = metrics
        var services: [any Service] = [
            feed, OIDCSessionFeed(database: database, sessions: sessions),
            UsageWriter(database: database, usage: usage, interval: usageFlushInterval, retentionDays: usageRetentionDays),
        ]
        services.append(SharedCounterSync(database: database, limiter: server.limiter, quotas: server.quotas, interval: rateLimitSync))
        services.append(server)
        self.services = services
    }
}
