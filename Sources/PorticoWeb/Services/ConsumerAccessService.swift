import Foundation
import PorticoCore
import PorticoStore

/// What one consumer may call, as the portal's "my APIs" shows it: each API their groups reach, under the most
/// generous of their grants, with the quota used this period.
public struct ConsumerAccess: Sendable {
    public let api: APIDefinition
    public let limits: AccessLimits
    /// Calls counted this period and when the period ends; nil without a quota.
    public let quotaUsed: Int?
    public let quotaResetsAt: Date?

    public var quotaLeft: Int? {
        guard let quota = limits.quota, let quotaUsed else { return nil }
        return max(0, quota.limit - quotaUsed)
    }
}

public struct ConsumerAccessService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// The APIs (not disabled) that `user`'s groups may call, by name, decided as the gateway decides them.
    public func access(of user: User, now: Date = Date()) async throws -> [ConsumerAccess] {
        try await store.read { connection in
            let structure = try await store.policy.loadStructure(on: connection)
            let snapshot = PolicySnapshot(version: 0, apis: structure.apis, keys: [:], consumers: [], grants: structure.grants)
            let catalog = try await store.apis.list(on: connection).filter { $0.status != .disabled }
            let seconds = Int64(now.timeIntervalSince1970)
            // The user's calls are counted under each id the gateway knows them by (a token user's derived one too).
            var rows: [(APIDefinition, AccessLimits, buckets: [String], window: QuotaWindow?)] = []
            for api in catalog {
                guard let limits = snapshot.access(groups: user.groups, api: api.id) else { continue }
                guard let quota = limits.quota, let plan = limits.plan else {
                    rows.append((api, limits, [], nil))
                    continue
                }
                let buckets = user.consumerIds.map { QuotaBucketName.of(plan: plan.id, consumer: $0, api: limits.bucket == .consumer ? nil : api.id) }
                rows.append((api, limits, buckets, quota.period.window(containing: seconds)))
            }
            let counted = rows.flatMap { row in row.window.map { window in row.buckets.map { ($0, window.start) } } ?? [] }
            let used = try await QuotaRepository(logger: store.database.logger).used(
                buckets: counted.map(\.0), starts: counted.map(\.1), on: connection)
            return rows.map { api, limits, buckets, window in
                ConsumerAccess(
                    api: api, limits: limits, quotaUsed: window.map { _ in buckets.reduce(0) { $0 + (used[$1] ?? 0) } },
                    quotaResetsAt: window.map { Date(timeIntervalSince1970: TimeInterval($0.end)) })
            }
        }
    }
}
