import Foundation
import Logging
import PorticoCore
import PostgresNIO
import ServiceLifecycle

/// Keeps a `PolicyHolder` current: LISTENs on `portico_policy` and, on every notification, applies the logged
/// changes after its snapshot's version to a copy of it (`PolicyChangeLog`); it reads the whole policy only at
/// start, when too far behind, or when the log no longer reaches back. It polls the version as a safety net for
/// notifications lost while reconnecting. When PostgreSQL is down the holder keeps the last snapshot, so the
/// gateway goes on serving.
public struct PolicyFeed: Service, NamedByType {
    let database: Database
    let holder: PolicyHolder
    let pollInterval: Duration
    let onReload: @Sendable (PolicySnapshot) -> Void
    let repository: PolicyRepository
    let changeLog: PolicyChangeLog
    /// A snapshot further behind than this many changes is read whole again instead.
    let maxChanges: Int
    /// How long one load of the whole policy may take: its own deadline, far beyond the admin API's, since a
    /// policy of a million keys takes seconds to read.
    let loadTimeout: Duration

    /// A failed first load is tried again after 1 s, then twice as long each time, up to this.
    static let maxRetryDelay: Duration = .seconds(30)

    public init(
        database: Database, holder: PolicyHolder, pollInterval: Duration = .seconds(30), loadTimeout: Duration = .seconds(120),
        maxChanges: Int = 20_000, onReload: @escaping @Sendable (PolicySnapshot) -> Void = { _ in }
    ) {
        self.maxChanges = maxChanges
        self.changeLog = PolicyChangeLog(logger: database.logger)
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

    /// Brings the installed snapshot up to the database's version once: by the change log when one is installed,
    /// by a full load otherwise; used at start-up, on every notification, and by tests. Says whether a current
    /// snapshot is installed now.
    @discardableResult
    public func reload() async -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            if holder.isLoaded {
                let base = holder.snapshot
                switch try await changeLog.catchUp(from: base, maxChanges: maxChanges, database: database, timeout: loadTimeout) {
                case .current:
                    holder.confirmCurrent()
                    return true
                case .delta(let delta, let changes):
                    // Off the event loops: this task builds the copy, the holder swaps one reference.
                    let snapshot = base.applying(delta)
                    install(snapshot)
                    holder.confirmCurrent()
                    database.logger.info(
                        "policy updated",
                        metadata: [
                            "version": "\(snapshot.version)", "from": "\(base.version)", "changes": "\(changes)",
                            "duration": "\(clock.now - started)",
                        ])
                    return true
                case .fullLoad(let reason):
                    database.logger.info("policy change log not applicable; reading the whole policy", metadata: ["reason": "\(reason)"])
                }
            }
            let snapshot = try await repository.loadSnapshot(from: database, timeout: loadTimeout)
            let installed = install(snapshot)
            holder.confirmCurrent()
            if installed {
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

    /// Installs `snapshot` and lets the one it replaces go off the request path.
    @discardableResult
    private func install(_ snapshot: PolicySnapshot) -> Bool {
        let (installed, replaced) = holder.install(snapshot)
        Task.detached(priority: .background) { await PolicyHolder.retire(replaced) }
        if installed { onReload(snapshot) }
        return installed
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
            if let version, version != holder.snapshot.version || !holder.isLoaded {
                trigger.yield()
            } else if version != nil {
                holder.confirmCurrent()
            }
        }
    }
}
