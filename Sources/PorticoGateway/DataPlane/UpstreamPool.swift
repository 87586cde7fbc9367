import NIOCore
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
                    // No HTTP codec: the connection handler writes the request as bytes and the answer is read by
                    // `ResponseStream`.
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

/// The upstream end of an exchange: reads the answer with `ResponseStream` and hands it, piece by piece, to the
/// client connection it currently serves.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The client connection this upstream connection answers right now; nil while idle in the pool.
    private var exchange: GatewayConnectionHandler?
    private var stream = ResponseStream()

    /// A request is about to go out on this connection for `exchange`.
    func begin(_ exchange: GatewayConnectionHandler, answersHead: Bool) {
        self.exchange = exchange
        stream.expectAnswer(toHead: answersHead)
    }

    /// The exchange is over (or abandoned): nothing more is handed on.
    func end() { exchange = nil }

    /// The upstream sent bytes beyond its answer: the connection is not trusted with another request.
    var hasLeftover: Bool { stream.hasPendingBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange, !stream.isIdle else {
            // Nothing was asked: an idle connection that speaks is not trusted with the next request.
            context.close(promise: nil)
            return
        }
        stream.append(unwrapInboundIn(data))
        do {
            while self.exchange === exchange, let message = try stream.next() { exchange.upstreamRead(message) }
        } catch {
            self.exchange = nil
            exchange.upstreamFailed(.error, reason: "the answer is not valid HTTP/1.1: \(error)")
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard let exchange else { return }
        // An answer without a length ends when the upstream closes; any other is cut short.
        if let end = stream.closed() {
            exchange.upstreamRead(end)
        } else {
            self.exchange = nil
            exchange.upstreamFailed(.closed, reason: "the upstream closed the connection")
        }
        exchange.upstreamReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let exchange = self.exchange
        self.exchange = nil
        exchange?.upstreamFailed(.error, reason: "\(error)")
        context.close(promise: nil)
    }
}

extension Upstream {
    var isIPAddress: Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
