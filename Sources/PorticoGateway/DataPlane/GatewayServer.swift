import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import PorticoCore
import ServiceLifecycle
import Synchronization

/// How the data plane listens and talks to upstreams.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var timeouts: UpstreamTimeouts
    /// Decrypts a JWT signing secret stored as a literal (`PORTICO_SECRET_KEY`).
    public var secretBox: SecretBox?
    /// How often rate-limit state whose bucket is full again is forgotten.
    public var limiterPruneInterval: Duration
    /// Which rate-limit fields responses carry (`--rate-limit-headers`).
    public var rateLimitHeaders: RateLimitHeaderStyle
    /// Where rate limits are counted (`--rate-limit-store`), and what a cluster store does without its database
    /// (`--rate-limit-fail`).
    public var rateLimitStore: RateLimitStore
    public var rateLimitFail: RateLimitFailMode
    /// On graceful shutdown: how long readiness says `draining` while the listener still accepts, so that load
    /// balancers take the replica out before connections are refused.
    public var drainNotice: Duration
    /// Then how long requests in flight may take to finish before the server stops anyway (`--drain-seconds`).
    public var drainTimeout: Duration
    /// The certificate the gateway presents when it terminates TLS itself (`--tls-cert`, `--tls-key`).
    public var tls: ServerCertificate?
    /// Checks the try-it passes of the portal in the same process; without it the gateway accepts none.
    public var tryItPasses: TryItPassSigner?
    /// Where one line per request goes (`AccessLogLine`, at `info`), when the access log is on (`--access-log`).
    public var accessLog: Logger?

    public init(
        host: String = "127.0.0.1", port: Int = 8000, timeouts: UpstreamTimeouts = .init(), secretBox: SecretBox? = nil,
        limiterPruneInterval: Duration = .seconds(10), rateLimitHeaders: RateLimitHeaderStyle = .both,
        rateLimitStore: RateLimitStore = .local, rateLimitFail: RateLimitFailMode = .open, drainNotice: Duration = .zero,
        drainTimeout: Duration = .seconds(15), tls: ServerCertificate? = nil
    ) {
        self.tls = tls
        self.drainNotice = drainNotice
        self.drainTimeout = drainTimeout
        self.rateLimitFail = rateLimitFail
        self.rateLimitHeaders = rateLimitHeaders
        self.rateLimitStore = rateLimitStore
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.secretBox = secretBox
        self.limiterPruneInterval = limiterPruneInterval
    }
}

/// Whether a gateway has begun to drain: it still finishes what it has, but wants no new traffic.
public final class DrainState: Sendable {
    private let flag = Atomic(false)

    public init() {}

    public var isDraining: Bool { flag.load(ordering: .relaxed) }

    func begin() { flag.store(true, ordering: .relaxed) }
}

/// The gateway's HTTP/1.1 server, on SwiftNIO directly: each connection's requests are decided and proxied on
/// its own event loop, against whatever snapshot `policy` holds at that moment. Graceful shutdown stops
/// accepting, lets requests in flight finish, then closes.
public struct GatewayServer: Service, NamedByType {
    let configuration: GatewayConfiguration
    let decider: GatewayDecider
    let metrics: GatewayMetrics
    let usage: any UsageSink
    let pools: UpstreamPools
    let logger: Logger
    let accessLog: Logger?
    let onServerRunning: @Sendable (any Channel) async -> Void
    /// Set once graceful shutdown has begun; readiness reports it.
    public let draining = DrainState()
    /// The client connections open now, cut when draining runs out of time.
    private let connections = OpenConnections()

    /// `usage` hears of every admitted key and token user; `onServerRunning` gets the listening channel (tests
    /// bind port 0 and read the port from it).
    /// `oidcSessions` shares OIDC-protected APIs' sessions with the other replicas; without it such APIs answer 503.
    public init(
        configuration: GatewayConfiguration, policy: PolicyHolder, usage: any UsageSink, metrics: GatewayMetrics, logger: Logger,
        oidcSessions: OIDCSessions? = nil, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) {
        let factory = JWTVerifierFactory(resolver: SecretResolver(box: configuration.secretBox), logger: logger)
        let health = CountingHealth(failMode: configuration.rateLimitFail)
        let passes = TryItAdmission(signer: configuration.tryItPasses)
        self.configuration = configuration
        self.decider = GatewayDecider(
            policy: policy, limiter: RateLimiter(store: configuration.rateLimitStore, health: health), quotas: QuotaCounter(health: health),
            keys: KeyAdmission(usage: usage, passes: passes),
            tokens: TokenAdmission(
                verifiers: JWTVerifierCache(factory: factory), passes: passes, issuers: IssuerVerifiers(factory: factory), usage: usage),
            oidc: oidcSessions.map { OIDCAdmission(sessions: $0, client: OIDCClient(verifiers: factory), usage: usage) },
            rateLimitHeaders: configuration.rateLimitHeaders, logger: logger)
        self.metrics = metrics
        self.usage = usage
        self.pools = UpstreamPools(timeouts: configuration.timeouts)
        self.logger = logger
        self.accessLog = configuration.accessLog
        self.onServerRunning = onServerRunning
    }

    /// Explains requests with this gateway's own decision, snapshot and counters.
    public var explainer: RequestExplainer { RequestExplainer(decider: decider) }

    /// The counts of rate limits, which a cluster store's sync shares with the other replicas.
    public var limiter: RateLimiter { decider.limiter }

    /// The quotas' counts, which the sync reports to the database whatever the rate-limit store.
    public var quotas: QuotaCounter { decider.quotas }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let tls = try configuration.tls.map { try NIOSSLContext(configuration: $0.serverConfiguration) }
        let quiesce = ServerQuiescingHelper(group: group)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [connections] channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture { try configureConnection(channel, tls: tls) }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        logger.info(
            "gateway listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")", "tls": "\(tls != nil)"])
        await onServerRunning(channel)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await prune() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        draining.begin()
        if configuration.drainNotice > .zero {
            logger.info("draining: readiness says so before the listener closes", metadata: ["notice": "\(configuration.drainNotice)"])
            try? await Task.sleep(for: configuration.drainNotice)
        }
        // Stops accepting; idle connections close now, busy ones after their answer (which says `Connection: close`).
        let closed = group.next().makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: closed)
        // The future is not cancellable, so the wait for it is raced against the timeout without a task group,
        // which would wait for it anyway.
        let drained = await Self.first(closed.futureResult, orAfter: configuration.drainTimeout)
        if drained {
            logger.info("gateway drained")
        } else {
            logger.warning("gateway drain timed out; the requests still in flight are cut", metadata: ["timeout": "\(configuration.drainTimeout)"])
            // Cut them: the quiescing helper's promise completes once the last one has closed.
            connections.closeAll()
            _ = try? await closed.futureResult.get()
        }
        await pools.closeAll()
    }

    /// A client connection's pipeline: TLS when the gateway terminates it, then the connection handler on the
    /// plain bytes (it reads HTTP/1.1 itself; see `RequestStream`). Called on the channel's event loop; the fuzzer
    /// (`Fuzz/`) drives the same pipeline on an embedded channel.
    package func configureConnection(_ channel: any Channel, tls: NIOSSLContext? = nil) throws {
        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
        try channel.pipeline.syncOperations.addHandler(
            GatewayConnectionHandler(
                decider: decider, pool: pools.pool(for: channel.eventLoop), metrics: metrics, usage: usage,
                readTimeout: configuration.timeouts.read, secure: tls != nil, logger: logger,
                accessLog: accessLog))
    }

    /// Whether `future` completed within `timeout` (or before this task was cancelled).
    private static func first(_ future: EventLoopFuture<Void>, orAfter timeout: Duration) async -> Bool {
        let outcome = FirstOutcome()
        return await withCheckedContinuation { continuation in
            outcome.wait(continuation)
            future.whenComplete { _ in outcome.resume(true) }
            Task {
                try? await Task.sleep(for: timeout)
                outcome.resume(false)
            }
        }
    }

    /// Drops rate-limit state that has gone back to full and OIDC sessions that have expired.
    private func prune() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.limiterPruneInterval)
            decider.limiter.prune()
            decider.oidc?.sessions.prune(now: Date())
        }
    }
}

/// The client connections a server has open, so that a drain that runs out of time can close what is left.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in channels.withLock { $0[id] = nil } }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// A continuation resumed by whichever of two events comes first.
private final class FirstOutcome: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation.withLock { $0 = continuation } }

    func resume(_ value: Bool) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
