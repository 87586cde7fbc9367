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

    public init(
        database: Database, holder: PolicyHolder, pollInterval: Duration = .seconds(30),
        onReload: @escaping @Sendable (PolicySnapshot) -> Void = { _ in }
    ) {
        self.database = database
        self.holder = holder
        self.pollInterval = pollInterval
        self.onReload = onReload
        self.repository = PolicyRepository(logger: database.logger)
    }

    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        trigger.yield()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(trigger: trigger) }
                group.addTask { await poll(trigger: trigger) }
                group.addTask {
                    for await _ in triggers { await reload() }
                }
                await group.waitForAll()
            }
        }
    }

    /// Loads and installs the current snapshot once; used at start-up and by tests.
    public func reload() async {
        do {
            let snapshot = try await repository.loadSnapshot(from: database)
            if holder.install(snapshot) {
                onReload(snapshot)
                database.logger.debug("policy loaded", metadata: ["version": "\(snapshot.version)"])
            }
        } catch {
            database.logger.warning("policy reload failed; keeping the last snapshot", metadata: ["error": "\(String(reflecting: error))"])
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
