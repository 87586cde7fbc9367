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
        /// Counts cuts: a connection that finishes connecting after a cut belongs to no listener and is closed.
        var generation = 0
    }
    private let state = Mutex(State())

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
        let generation = state.withLock { $0.generation }
        track(server.channel, generation: generation)
        let task = Task<Void, Never> { [self] in
            _ = try? await server.executeThenClose { clients in
                await withTaskGroup(of: Void.self) { group in
                    do {
                        for try await client in clients {
                            guard track(client.channel, generation: generation) else {
                                try? await client.executeThenClose { _, _ in }
                                break
                            }
                            group.addTask { await self.forward(client, generation: generation) }
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
            defer { state = State(generation: state.generation + 1) }
            return (state.task, Array(state.channels.values))
        }
        for channel in channels { try? await channel.close() }
        await task?.value
    }

    /// Registers `channel` for the next cut; when a cut came first, closes it and says so.
    @discardableResult
    private func track(_ channel: any Channel, generation: Int) -> Bool {
        let current = state.withLock { state in
            guard state.generation == generation else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if !current { channel.close(promise: nil) }
        return current
    }

    private func forward(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, generation: Int) async {
        let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: targetPort) {
                channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        } catch {
            // An async channel must be finished through `executeThenClose`, even when it is not used.
            try? await client.executeThenClose { _, _ in }
            return
        }
        guard track(upstream.channel, generation: generation) else {
            try? await upstream.executeThenClose { _, _ in }
            try? await client.executeThenClose { _, _ in }
            return
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in clientIn { try await upstreamOut.write(bytes) } }
                    group.addTask { for try await bytes in upstreamIn { try await clientOut.write(bytes) } }
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
