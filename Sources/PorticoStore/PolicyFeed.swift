import Foundation
import Logging
import PorticoCore
import PostgresNIO
import ServiceLifecycle

/// Keeps a `PolicyHolder` current: LISTENs on `portico_policy` and recompiles the snapshot on every
/// notification, and polls the version as a safety net for notifications lost while reconnecting.
/// When PostgreSQL is down the holder keeps the last snapshot, so the gateway goes on serving.
public struct PolicyFeed: Service {
    let database: Database
    let holder: PolicyHolder
    let pollInterval: Duration
    let onReload: @Sendable (PolicySnapshot) -> Void
    let repository: PolicyRepository
    /// How long one load of the whole policy may take: its own deadline, far beyond the admin API's, since a
    /// policy of a million keys takes seconds to read.
    let loadTimeout: Duration

    /// A failed first load is tried again after 1 s, then twice as long each time, up to this.
    static let maxRetryDelay: Duration = .seconds(30)

    public init(
        database: Database, holder: PolicyHolder, pollInterval: Duration = .seconds(30), loadTimeout: Duration = .seconds(120),
        onReload: @escaping @Sendable (PolicySnapshot) -> Void = { _ in }
    ) {
        self.loadTimeout = loadTimeout
        self.database = database
        self.holder = holder
        self.pollInterval = pollInterval
        self.onReload = onReload
        self.repository = PolicyRepository(logger: database.logger)
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(trigger: trigger) }
                group.addTask { await poll(trigger: trigger) }
                group.addTask {
                    await loadUntilReady()
                    for await _ in triggers { await reload() }
                }
                await group.waitForAll()
            }
        }
    }

    /// The first load, tried again with a growing delay until it succeeds; until then the gateway answers 503.
    public func loadUntilReady() async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled, !holder.isLoaded {
            if await reload() { return }
            database.logger.warning("policy not loaded yet; trying again", metadata: ["in": "\(delay)"])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, Self.maxRetryDelay)
        }
    }

    /// Loads and installs the current snapshot once, unless the installed one is already current; used at
    /// start-up and by tests. Says whether a current snapshot is installed now.
    @discardableResult
    public func reload() async -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            if holder.isLoaded, let version = try? await database.read({ try await repository.currentVersion(on: $0) }),
                version == holder.snapshot.version
            {
                return true
            }
            let snapshot = try await repository.loadSnapshot(from: database, timeout: loadTimeout)
            let (installed, replaced) = holder.install(snapshot)
            Task.detached(priority: .background) { await PolicyHolder.retire(replaced) }
            if installed {
                onReload(snapshot)
                database.logger.info(
                    "policy loaded",
                    metadata: [
                        "version": "\(snapshot.version)", "apis": "\(snapshot.apiCount)", "keys": "\(snapshot.keyCount)",
                        "users": "\(snapshot.consumerCount)", "duration": "\(clock.now - started)",
                    ])
            }
            return true
        } catch {
            database.logger.warning(
                "policy load failed; keeping the last snapshot", metadata: ["error": "\(error)", "after": "\(clock.now - started)"])
            return false
        }
    }

    private func listen(trigger: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: PolicyChannel.name) { notifications in
                        // Changes made while we were not listening are picked up right after subscribing.
                        trigger.yield()
                        for try await _ in notifications { trigger.yield() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                database.logger.warning("policy LISTEN lost; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func poll(trigger: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            if Task.isCancelled { return }
            let version = try? await database.read { try await repository.currentVersion(on: $0) }
            if let version, version != holder.snapshot.version || !holder.isLoaded { trigger.yield() }
        }
    }
}
