// The floor under any proxy written on SwiftNIO: each client connection gets one upstream connection on the same
// event loop and the bytes pass both ways untouched (no parsing, no policy). `make bench` runs it beside nginx
// so that Portico's cost per request can be split into what NIO itself costs and what Portico adds.
//
//   proxy-floor LISTEN_PORT UPSTREAM_PORT   (PORTICO_EVENT_LOOPS threads, default one per core)
import Foundation
import NIOCore
import NIOPosix

/// Relays what one side reads to the other side's channel, flushing once per read burst.
final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var peer: (any Channel)?
    private var waiting: [ByteBuffer] = []

    init(peer: (any Channel)? = nil) { self.peer = peer }

    func connected(to peer: any Channel) {
        self.peer = peer
        for bytes in waiting { peer.write(bytes, promise: nil) }
        waiting = []
        peer.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let peer { peer.write(bytes, promise: nil) } else { waiting.append(bytes) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { peer?.flush() }

    func channelInactive(context: ChannelHandlerContext) { peer?.close(promise: nil) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: proxy-floor LISTEN_PORT UPSTREAM_PORT\n".utf8))
    exit(64)
}
if let loops = ProcessInfo.processInfo.environment["PORTICO_EVENT_LOOPS"].flatMap(Int.init), loops > 0 {
    NIOSingletons.groupLoopCountSuggestion = loops
}

let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { client in
        let relay = Relay()
        do { try client.pipeline.syncOperations.addHandler(relay) } catch { return client.eventLoop.makeFailedFuture(error) }
        let bound = NIOLoopBound(relay, eventLoop: client.eventLoop)
        ClientBootstrap(group: client.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture { try upstream.pipeline.syncOperations.addHandler(Relay(peer: client)) }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let upstream): bound.value.connected(to: upstream)
                case .failure: client.close(promise: nil)
                }
            }
        return client.eventLoop.makeSucceededVoidFuture()
    }
    .bind(host: "127.0.0.1", port: listenPort)
    .get()
try await server.closeFuture.get()
