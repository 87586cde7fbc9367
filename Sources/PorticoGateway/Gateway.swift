import Foundation
import AsyncHTTPClient
import CoreMetrics
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PorticoCore
import PorticoStore
import ServiceLifecycle

public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var timeouts: UpstreamTimeouts
    public var usageFlushInterval: Duration

    public init(host: String = "127.0.0.1", port: Int = 8000, timeouts: UpstreamTimeouts = .init(), usageFlushInterval: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.usageFlushInterval = usageFlushInterval
    }
}

/// The embedded gateway and the services it needs, ready to be run by a service group.
public struct Gateway: Sendable {
    public let application: Application<GatewayResponder>
    public let policy: PolicyHolder
    public let limiter: RateLimiter
    public let metrics: GatewayMetrics
    public let usage: KeyUsageRecorder
    /// Run these beside the application: the upstream client's owner and the maintenance loop.
    public let services: [any Service]

    public init(
        configuration: GatewayConfiguration, policy: PolicyHolder, database: Database, metricsFactory: any MetricsFactory, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) {
        let client = UpstreamProxy.makeClient(timeouts: configuration.timeouts)
        let limiter = RateLimiter()
        let usage = KeyUsageRecorder()
        let metrics = GatewayMetrics(factory: metricsFactory)
        let responder = GatewayResponder(
            policy: policy, limiter: limiter, proxy: UpstreamProxy(client: client), usage: usage, metrics: metrics)
        self.application = Application(
            responder: responder,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: onServerRunning,
            logger: logger)
        self.policy = policy
        self.limiter = limiter
        self.metrics = metrics
        self.usage = usage
        self.services = [
            HTTPClientService(client: client),
            GatewayMaintenance(database: database, usage: usage, limiter: limiter, interval: configuration.usageFlushInterval),
        ]
    }
}

/// Writes key last-used times in batches and forgets idle rate-limit state.
public struct GatewayMaintenance: Service {
    let database: Database
    let usage: KeyUsageRecorder
    let limiter: RateLimiter
    let interval: Duration

    public func run() async throws {
        let keys = KeyRepository(logger: database.logger)
        // Shutdown cuts the sleep short; the last uses are still written before the database client stops.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await flush(keys)
                limiter.prune()
            }
        }
        await flush(keys)
    }

    private func flush(_ keys: KeyRepository) async {
        let used = usage.drain()
        guard !used.isEmpty else { return }
        do {
            try await database.read { try await keys.markUsed(used, at: Date(), on: $0) }
        } catch {
            database.logger.warning("could not record key use", metadata: ["keys": "\(used.count)"])
        }
    }
}
