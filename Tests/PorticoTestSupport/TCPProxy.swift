import NIOCore
import NIOPosix
import Synchronization

/// A TCP forwarder on a loopback port to another one, which a test can cut (the listener and every connection
/// close, new connections are refused, as when the server behind it stops) and resume on the same port.
public final class TCPProxy: Sendable {
    public let port: Int
    private let targetPort: Int
    private struct State {
        var task: Task<Void, Never>?
        /// The listener and both ends of every forwarded connection, closed by `cut`.
        var channels: [ObjectIdentifier: any Channel] = [:]
    }
    private let state = Mutex(State())

    /// The bytes of one forwarded connection, each way.
    public struct Recording: Sendable {
        public var toTarget: [UInt8] = []
        public var fromTarget: [UInt8] = []
    }
    private let recordings = Mutex<[Recording]>([])

    /// Every connection forwarded so far, in the order they were accepted.
    public var recorded: [Recording] { recordings.withLock { $0 } }

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
        track(server.channel)
        let task = Task<Void, Never> { [self] in
            _ = try? await server.executeThenClose { clients in
                await withTaskGroup(of: Void.self) { group in
                    do {
                        for try await client in clients {
                            track(client.channel)
                            group.addTask { await self.forward(client) }
                        }
                    } catch {}
                }
            }
        }
        state.withLock { $0.task = task }
    }

    /// Closes the listener and every forwarded connection, and waits until all of them are closed.
    public func cut() async {
        let (task, channels) = state.withLock { state in
            defer { state = State() }
            return (state.task, Array(state.channels.values))
        }
        for channel in channels { try? await channel.close() }
        await task?.value
    }

    private func track(_ channel: any Channel) {
        state.withLock { $0.channels[ObjectIdentifier(channel)] = channel }
    }

    private func forward(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: targetPort) {
                channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        } catch {
            try? await client.channel.close()
            return
        }
        track(upstream.channel)
        let index = recordings.withLock { recordings in
            recordings.append(Recording())
            return recordings.count - 1
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { [self] in
                        for try await bytes in clientIn {
                            recordings.withLock { $0[index].toTarget.append(contentsOf: bytes.readableBytesView) }
                            try await upstreamOut.write(bytes)
                        }
                    }
                    group.addTask { [self] in
                        for try await bytes in upstreamIn {
                            recordings.withLock { $0[index].fromTarget.append(contentsOf: bytes.readableBytesView) }
                            try await clientOut.write(bytes)
                        }
                    }
                    // Either side closing (or being closed by `cut`) ends both.
                    _ = try await group.next()
                    try? await client.channel.close()
                    try? await upstream.channel.close()
                    group.cancelAll()
                }
            }
        }
        state.withLock { state in
            state.channels[ObjectIdentifier(client.channel)] = nil
            state.channels[ObjectIdentifier(upstream.channel)] = nil
        }
    }
}
