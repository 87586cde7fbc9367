import Logging
import PorticoCore
import ServiceLifecycle

/// Deletes old entries of the policy change log now and then, so it stays small. A gateway stopped for longer
/// than `retention` reads the whole policy when it comes back.
public struct PolicyLogPruner: Service, NamedByType {
    let database: Database
    let retention: Duration
    let interval: Duration

    public init(database: Database, retention: Duration = .seconds(24 * 3600), interval: Duration = .seconds(3600)) {
        self.database = database
        self.retention = retention
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do {
                    let pruned = try await database.transaction {
                        try await PolicyChangeLog(logger: database.logger).prune(olderThan: retention, on: $0)
                    }
                    if pruned > 0 { database.logger.info("policy change log pruned", metadata: ["changes": "\(pruned)"]) }
                } catch {
                    database.logger.warning("policy change log not pruned", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
