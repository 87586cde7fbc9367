import NIOCore
import NIOPosix
import Synchronization

/// A TCP forwarder on a loopback port to another one, which a test can cut (the listener and every connection
/// close, new connections are refused, as when the server behind it stops) and resume on the same port.
public final class TCPProxy: Sendable {
    public let port: Int
    private let targetPort: Int
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// Listens on a free port and forwards to `targetPort`.
    public init(to targetPort: Int) async throws {
        self.targetPort = targetPort
        self.port = try freeLoopbackPort()
        try await resume()
    }

    /// Starts listening (again) and forwarding.
    public func resume() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        let targetPort = targetPort
        let task = Task<Void, Never> {
            _ = try? await server.executeThenClose { clients in
                await withTaskGroup(of: Void.self) { group in
                    do {
                        for try await client in clients { group.addTask { await Self.forward(client, to: targetPort) } }
                    } catch {}
                    group.cancelAll()
                }
            }
        }
        running.withLock { $0 = task }
    }

    /// Closes the listener and every forwarded connection.
    public func cut() async {
        guard
            let task = running.withLock({ current -> Task<Void, Never>? in
                defer { current = nil }
                return current
            })
        else { return }
        task.cancel()
        await task.value
    }

    private static func forward(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to port: Int) async {
        let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        } catch {
            try? await client.channel.close()
            return
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in clientIn { try await upstreamOut.write(bytes) } }
                    group.addTask { for try await bytes in upstreamIn { try await clientOut.write(bytes) } }
                    // Either side closing, or the proxy being cut, ends both.
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}
