import Foundation
import PorticoStore
import ServiceLifecycle

/// Writes what a `UsageRecorder` collected: key last-used times and token users, in batches every `interval`,
/// and a token user seen for the first time within moments rather than at the next interval.
public struct UsageWriter: Service {
    let database: Database
    let usage: UsageRecorder
    let interval: Duration

    public init(database: Database, usage: UsageRecorder, interval: Duration) {
        self.database = database
        self.usage = usage
        self.interval = interval
    }

    public func run() async throws {
        let keys = KeyRepository(logger: database.logger)
        let users = UserRepository(logger: database.logger)
        // Shutdown cuts the sleeps short; the last uses are still written before the database client stops.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        await flushKeys(keys)
                        await flushSightings(users)
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
