import Foundation
import Synchronization

/// Holds the current policy snapshot. Readers take the whole snapshot at once; a reload swaps it whole.
public final class PolicyHolder: Sendable {
    private let current: Mutex<PolicySnapshot>
    private let loaded: Atomic<Bool>
    /// When the snapshot was last known to match the database, in milliseconds since 1970 (0: never).
    private let confirmedMillis: Atomic<Int64>

    public init(_ snapshot: PolicySnapshot = .empty) {
        self.current = Mutex(snapshot)
        self.loaded = Atomic(false)
        self.confirmedMillis = Atomic(0)
    }

    /// Records that the installed snapshot is the database's current policy as of `date`.
    public func confirmCurrent(at date: Date = Date()) {
        confirmedMillis.store(Int64(date.timeIntervalSince1970 * 1000), ordering: .relaxed)
    }

    /// When the snapshot was last known to be current; nil before the first load.
    public var lastConfirmed: Date? {
        let millis = confirmedMillis.load(ordering: .relaxed)
        return millis == 0 ? nil : Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    public var snapshot: PolicySnapshot { current.withLock { $0 } }

    /// Whether a snapshot from the database has been installed yet.
    public var isLoaded: Bool { loaded.load(ordering: .acquiring) }

    /// Installs `snapshot` unless a newer one is already in place (reloads may finish out of order). The snapshot
    /// it replaces is handed back rather than freed under the lock: freeing a million keys takes long enough to
    /// stall every request waiting for the lock, so the caller lets it go off the request path (`retire`).
    @discardableResult
    public func install(_ snapshot: PolicySnapshot) -> (installed: Bool, replaced: PolicySnapshot?) {
        var replaced: PolicySnapshot?
        let installed = current.withLock { existing in
            guard snapshot.version >= existing.version || !isLoaded else { return false }
            replaced = existing
            existing = snapshot
            return true
        }
        loaded.store(true, ordering: .releasing)
        return (installed, replaced)
    }

    /// Keeps a replaced snapshot alive for `grace` and frees it on this task, not on the event loop of whichever
    /// request held it last: requests in flight keep the snapshot they started with, and are done by then.
    public static func retire(_ snapshot: PolicySnapshot?, after grace: Duration = .seconds(5)) async {
        guard let snapshot else { return }
        try? await Task.sleep(for: grace)
        withExtendedLifetime(snapshot) {}
    }
}
