import PorticoStore

/// Reads the audit log, which every change through `AdminStore.write` adds to.
public struct AuditService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// One page of entries, newest first.
    public func recent(limit: Int, offset: Int) async throws -> Page<AuditEntry> {
        try await store.read { connection in
            Page(
                rows: try await store.audit.recent(limit: limit, offset: offset, on: connection),
                total: try await store.audit.count(on: connection))
        }
    }
}
