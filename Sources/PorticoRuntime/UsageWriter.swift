import Foundation
import PorticoCore
import PorticoStore
import ServiceLifecycle

/// Writes what a `UsageRecorder` collected: key last-used times, token users, the usage records and the recent
/// refusals, in batches
/// every `interval`, and a token user seen for the first time within moments rather than at the next interval.
/// Once an hour it deletes usage records older than `retentionDays`.
public struct UsageWriter: Service, NamedByType {
    let database: Database
    let usage: UsageRecorder
    let interval: Duration
    let retentionDays: Int

    public init(database: Database, usage: UsageRecorder, interval: Duration, retentionDays: Int = 90) {
        self.database = database
        self.usage = usage
        self.interval = interval
        self.retentionDays = retentionDays
    }

    public func run() async throws {
        let keys = KeyRepository(logger: database.logger)
        let users = UserRepository(logger: database.logger)
        // Shutdown cuts the sleeps short; the last uses are still written before the database client stops.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var lastPruned = ContinuousClock.now - .seconds(3_600)
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        await flushKeys(keys)
                        await flushSightings(users)
                        await flushCalls(waiting: true)
                        await flushRefusals()
                        if ContinuousClock.now - lastPruned >= .seconds(3_600) {
                            lastPruned = .now
                            await pruneCalls()
                        }
                    }
                }
                group.addTask {
                    for await _ in usage.newUsers {
                        // A short pause lets a burst of new users go out in one write.
                        try? await Task.sleep(for: .milliseconds(50))
                        await flushSightings(users)
                    }
                }
                await group.next()
                usage.finish()
                group.cancelAll()
            }
        }
        await flushKeys(keys)
        await flushSightings(users)
        await flushCalls(waiting: false)
        await flushRefusals()
    }

    /// Writes the refusals kept since the last flush; after a failed write they wait for the next one, as far as
    /// each consumer's ring still holds them.
    private func flushRefusals() async {
        let refusals = usage.drainRefusals()
        guard !refusals.isEmpty else { return }
        let repository = RefusalRepository(logger: database.logger)
        do {
            try await database.transaction { try await repository.add(refusals, on: $0) }
        } catch {
            usage.restore(refusals)
            database.logger.warning("could not write recent refusals; will retry", metadata: ["refusals": "\(refusals.count)"])
        }
    }

    /// Adds the calls counted since the last flush to the usage records. It waits for the database (bounded only
    /// at shutdown), so a write that commits late is not written again.
    private func flushCalls(waiting: Bool) async {
        let rows = usage.drainCalls()
        guard !rows.isEmpty else { return }
        let repository = UsageRepository(logger: database.logger)
        do {
            if waiting {
                try await database.transactionUntilCancelled { try await repository.add(rows, on: $0) }
            } else {
                try await database.transaction { try await repository.add(rows, on: $0) }
            }
        } catch is Database.OutcomeUnknown {
            // Shutting down with the write still pending: writing the rows again could count them twice.
            database.logger.warning("usage records still being written at shutdown may be lost", metadata: ["rows": "\(rows.count)"])
        } catch {
            usage.restore(rows)
            database.logger.warning("could not write usage records; will retry", metadata: ["rows": "\(rows.count)"])
        }
    }

    private func pruneCalls() async {
        let repository = UsageRepository(logger: database.logger)
        let now = Int64(Date().timeIntervalSince1970)
        try? await database.transaction { try await repository.prune(olderThanDays: retentionDays, nowSeconds: now, on: $0) }
        try? await database.transaction { try await RefusalRepository(logger: database.logger).prune(olderThanDays: retentionDays, on: $0) }
    }

    private func flushKeys(_ keys: KeyRepository) async {
        let used = usage.drainKeys()
        guard !used.isEmpty else { return }
        do {
            try await database.read { try await keys.markUsed(used, at: Date(), on: $0) }
        } catch {
            database.logger.warning("could not record key use", metadata: ["keys": "\(used.count)"])
        }
    }

    private func flushSightings(_ users: UserRepository) async {
        let seen = usage.drainSightings()
        guard !seen.isEmpty else { return }
        do {
            let created = try await database.read { try await users.recordSightings(seen, on: $0) }
            usage.markWritten(seen)
            if created > 0 { database.logger.info("token users created", metadata: ["count": "\(created)"]) }
        } catch {
            usage.restore(seen)
            database.logger.warning("could not record token users; will retry", metadata: ["users": "\(seen.count)"])
        }
    }
}
