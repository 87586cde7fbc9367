import Synchronization

/// Holds the current policy snapshot. Readers take the whole snapshot at once; a reload swaps it whole.
public final class PolicyHolder: Sendable {
    private let current: Mutex<PolicySnapshot>
    private let loaded: Atomic<Bool>

    public init(_ snapshot: PolicySnapshot = .empty) {
        self.current = Mutex(snapshot)
        self.loaded = Atomic(false)
    }

    public var snapshot: PolicySnapshot { current.withLock { $0 } }

    /// Whether a snapshot from the database has been installed yet.
    public var isLoaded: Bool { loaded.load(ordering: .acquiring) }

    /// Installs `snapshot` unless a newer one is already in place (reloads may finish out of order).
    @discardableResult
    public func install(_ snapshot: PolicySnapshot) -> Bool {
        let installed = current.withLock { existing in
            guard snapshot.version >= existing.version || !isLoaded else { return false }
            existing = snapshot
            return true
        }
        loaded.store(true, ordering: .releasing)
        return installed
    }
}
