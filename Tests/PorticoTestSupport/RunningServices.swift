import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Collects the ports servers bound to (tests bind to port 0).
public final class PortReporter: Sendable {
    private let stream: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    }

    public var onServerRunning: @Sendable (any Channel) async -> Void {
        { [continuation] channel in continuation.yield(channel.localAddress?.port ?? 0) }
    }

    public func next() async -> Int {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next() ?? 0
    }
}

/// Runs `services` (servers, clients, feeds) in a service group around `body`, then shuts them down gracefully.
public func withServices<Result: Sendable>(_ services: [any Service], _ body: () async throws -> Result) async throws -> Result {
    var configuration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, logger: TestDatabase.logger)
    // A service still stuck (say on a database cut by a test) is cancelled rather than holding the test forever.
    configuration.maximumGracefulShutdownDuration = .seconds(30)
    let group = ServiceGroup(configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}
