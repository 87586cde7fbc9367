import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PorticoCore
import Synchronization

/// How long the gateway waits on an upstream: to connect, and for the next bytes of an answer, before a 504.
public struct UpstreamTimeouts: Sendable {
    public var connect: Duration
    /// Longest silence while waiting for the upstream's response (head or body); past it → 504.
    public var read: Duration

    public init(connect: Duration = .seconds(2), read: Duration = .seconds(30)) {
        self.connect = connect
        self.read = read
    }
}

/// Keep-alive connections to the upstreams, for one event loop: a request goes upstream on a connection of the
/// loop that serves its client, so a forwarded request never changes threads. Used only on its loop.
final class UpstreamPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let timeouts: UpstreamTimeouts
    private let tls: Result<NIOSSLContext, any Error>
    private var idle: [Upstream: [any Channel]] = [:]
    static let maxIdlePerUpstream = 256

    init(eventLoop: any EventLoop, timeouts: UpstreamTimeouts, tls: Result<NIOSSLContext, any Error>) {
        self.eventLoop = eventLoop
        self.timeouts = timeouts
        self.tls = tls
    }

    /// An idle connection to `upstream` if one is still open, else a new one. `reused` tells which: a reused
    /// connection may have been closed by the upstream a moment ago, so a request that failed on it may be retried.
    func connection(to upstream: Upstream, fresh: Bool = false) -> (EventLoopFuture<any Channel>, reused: Bool) {
        eventLoop.preconditionInEventLoop()
        if !fresh {
            while let channel = idle[upstream]?.popLast() {
                if channel.isActive { return (eventLoop.makeSucceededFuture(channel), true) }
            }
        }
        return (connect(upstream), false)
    }

    func release(_ channel: any Channel, to upstream: Upstream) {
        eventLoop.preconditionInEventLoop()
        guard channel.isActive, idle[upstream, default: []].count < Self.maxIdlePerUpstream else {
            channel.close(promise: nil)
            return
        }
        idle[upstream, default: []].append(channel)
    }

    func closeAll() {
        eventLoop.preconditionInEventLoop()
        for channels in idle.values { for channel in channels { channel.close(promise: nil) } }
        idle.removeAll()
    }

    private func connect(_ upstream: Upstream) -> EventLoopFuture<any Channel> {
        var context: NIOSSLContext?
        if upstream.scheme == "https" {
            switch tls {
            case .success(let made): context = made
            case .failure(let error): return eventLoop.makeFailedFuture(error)
            }
        }
        let serverName = upstream.isIPAddress ? nil : upstream.host
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(timeouts.connect.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    // Headers are checked where they are made (see `GatewayServer`), not again on every write.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: upstream.host, port: upstream.port)
    }
}

/// One pool per event loop of the server's group, made when the loop's first connection arrives.
final class UpstreamPools: Sendable {
    private let pools = Mutex<[ObjectIdentifier: UpstreamPool]>([:])
    private let timeouts: UpstreamTimeouts
    private let tls: Result<NIOSSLContext, any Error>

    init(timeouts: UpstreamTimeouts) {
        self.timeouts = timeouts
        self.tls = Result { try NIOSSLContext(configuration: .makeClientConfiguration()) }
    }

    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(eventLoop)] { return pool }
            let made = UpstreamPool(eventLoop: eventLoop, timeouts: timeouts, tls: tls)
            pools[ObjectIdentifier(eventLoop)] = made
            return made
        }
    }

    func closeAll() async {
        let all = pools.withLock { Array($0.values) }
        for pool in all { try? await pool.eventLoop.submit { pool.closeAll() }.get() }
    }
}

/// The upstream end of an exchange: hands the response to the client connection it currently serves.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// The client connection this upstream connection answers right now; nil while idle in the pool.
    var exchange: GatewayConnectionHandler?
    /// False once the upstream said it closes the connection after this answer.
    var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Nothing was asked: an idle connection that speaks is not trusted with the next request.
            context.close(promise: nil)
            return
        }
        exchange.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.upstreamFailed(.closed)
        exchange = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.upstreamFailed(.error(error))
        exchange = nil
        context.close(promise: nil)
    }
}

extension Upstream {
    var isIPAddress: Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
