import PorticoStore

/// The figures on the dashboard's overview that come from the database.
public struct OverviewService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func counts() async throws -> OverviewRepository.Counts {
        try await store.read { try await store.overview.counts(on: $0) }
    }
}
