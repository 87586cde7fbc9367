import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The gateway's HTTP/1.1 server, on SwiftNIO directly: each connection's requests are decided and proxied on
/// its own event loop. Graceful shutdown stops accepting, lets requests in flight finish, then closes.
public struct GatewayServer: Service {
    let host: String
    let port: Int
    let decider: GatewayDecider
    let metrics: GatewayMetrics
    let pools: UpstreamPools
    let readTimeout: Duration
    let logger: Logger
    let onServerRunning: @Sendable (any Channel) async -> Void

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiesce = ServerQuiescingHelper(group: group)
        let (decider, metrics, pools, readTimeout, logger) = (decider, metrics, pools, readTimeout, logger)
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
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Pipelining and malformed requests are handled by the connection handler itself: NIO's helpers
                    // for them stop reading during every request, which costs two epoll changes per request.
                    // NIO's outbound header check is left out (about a tenth of the gateway's CPU per request): every
                    // header written comes from llhttp's parse of the client or upstream, from settings checked when
                    // saved (names), or from values the gateway cleans itself (claims, `error_description`).
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(
                        GatewayConnectionHandler(
                            decider: decider, pool: pools.pool(for: channel.eventLoop), metrics: metrics, readTimeout: readTimeout,
                            logger: logger))
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.info("gateway listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        await onServerRunning(channel)
        try? await gracefulShutdown()
        let closed = group.next().makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: closed)
        try? await closed.futureResult.get()
        await pools.closeAll()
    }
}
