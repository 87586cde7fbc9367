import Foundation
import CoreMetrics
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
    /// Decrypts a JWT signing secret stored as a literal (`PORTICO_SECRET_KEY`).
    public var secretBox: SecretBox?

    public init(
        host: String = "127.0.0.1", port: Int = 8000, timeouts: UpstreamTimeouts = .init(), usageFlushInterval: Duration = .seconds(10),
        secretBox: SecretBox? = nil
    ) {
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.usageFlushInterval = usageFlushInterval
        self.secretBox = secretBox
    }
}

/// The embedded gateway and the services it needs, ready to be run by a service group.
public struct Gateway: Sendable {
    public let server: GatewayServer
    public let policy: PolicyHolder
    public let limiter: RateLimiter
    public let metrics: GatewayMetrics
    public let usage: KeyUsageRecorder
    public let sightings: SightingRecorder
    /// Run these beside the server: the maintenance loop.
    public let services: [any Service]

    public init(
        configuration: GatewayConfiguration, policy: PolicyHolder, database: Database, metricsFactory: any MetricsFactory, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) {
        let limiter = RateLimiter()
        let usage = KeyUsageRecorder()
        let metrics = GatewayMetrics(factory: metricsFactory)
        let sightings = SightingRecorder()
        let verifiers = JWTVerifierCache(factory: JWTVerifierFactory(resolver: SecretResolver(box: configuration.secretBox), logger: logger))
        let decider = GatewayDecider(
            policy: policy, limiter: limiter, keys: KeyAdmission(usage: usage), tokens: TokenAdmission(verifiers: verifiers, sightings: sightings),
            logger: logger)
        self.server = GatewayServer(
            host: configuration.host, port: configuration.port, decider: decider, metrics: metrics,
            pools: UpstreamPools(timeouts: configuration.timeouts), readTimeout: configuration.timeouts.read, logger: logger,
            onServerRunning: onServerRunning)
        self.policy = policy
        self.limiter = limiter
        self.metrics = metrics
        self.usage = usage
        self.sightings = sightings
        self.services = [
            GatewayMaintenance(
                database: database, usage: usage, sightings: sightings, limiter: limiter, interval: configuration.usageFlushInterval)
        ]
    }
}

/// Writes key last-used times and token users in batches, and forgets idle rate-limit state. A token user seen
/// for the first time is written within moments rather than at the next interval.
public struct GatewayMaintenance: Service {
    let database: Database
    let usage: KeyUsageRecorder
    let sightings: SightingRecorder
    let limiter: RateLimiter
    let interval: Duration

    public func run() async throws {
        let keys = KeyRepository(logger: database.logger)
        let users = UserRepository(logger: database.logger)
        // Shutdown cuts the sleeps short; the last uses are still written before the database client stops.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        await flushKeys(keys)
                        await flushSightings(users)
                        limiter.prune()
                    }
                }
                group.addTask {
                    for await _ in sightings.newUsers {
                        // A short pause lets a burst of new users go out in one write.
                        try? await Task.sleep(for: .milliseconds(50))
                        await flushSightings(users)
                    }
                }
                await group.next()
                sightings.finish()
                group.cancelAll()
            }
        }
        await flushKeys(keys)
        await flushSightings(users)
    }

    private func flushKeys(_ keys: KeyRepository) async {
        let used = usage.drain()
        guard !used.isEmpty else { return }
        do {
            try await database.read { try await keys.markUsed(used, at: Date(), on: $0) }
        } catch {
            database.logger.warning("could not record key use", metadata: ["keys": "\(used.count)"])
        }
    }

    private func flushSightings(_ users: UserRepository) async {
        let seen = sightings.drain()
        guard !seen.isEmpty else { return }
        do {
            let created = try await database.read { try await users.recordSightings(seen, on: $0) }
            sightings.markWritten(seen)
            if created > 0 { database.logger.info("token users created", metadata: ["count": "\(created)"]) }
        } catch {
            sightings.restore(seen)
            database.logger.warning("could not record token users; will retry", metadata: ["users": "\(seen.count)"])
        }
    }
}
