import Foundation
import Synchronization

/// Collects the ids of keys used since the last flush, so the hot path never writes to the database.
public final class KeyUsageRecorder: Sendable {
    private let used = Mutex(Set<UUID>())

    public init() {}

    public func record(_ keyId: UUID) {
        used.withLock { _ = $0.insert(keyId) }
    }

    public func drain() -> [UUID] {
        used.withLock { set in
            defer { set.removeAll(keepingCapacity: true) }
            return Array(set)
        }
    }
}
