import PorticoCore
import Synchronization

/// What the rate limiter and the quota counter share about counting with the other replicas: how many replicas
/// are alive, whether the last sync with the database failed (degraded), and what to do then.
public final class CountingHealth: Sendable {
    public let failMode: RateLimitFailMode
    private let replicas = Atomic<Int>(1)
    private let degraded = Atomic<Bool>(false)

    public init(failMode: RateLimitFailMode = .open) { self.failMode = failMode }

    /// How many replicas share each limit now (at least 1).
    public var liveReplicas: Int { replicas.load(ordering: .relaxed) }

    public func setLiveReplicas(_ count: Int) { replicas.store(max(1, count), ordering: .relaxed) }

    /// Whether the last sync failed, so each replica is enforcing its share of each shared limit alone.
    public var isDegraded: Bool { degraded.load(ordering: .relaxed) }

    /// Sets the degraded state and returns the one before.
    @discardableResult
    public func setDegraded(_ value: Bool) -> Bool { degraded.exchange(value, ordering: .relaxed) }

    /// Whether shared limits refuse calls now: failing closed, degraded.
    public var refusesSharedLimits: Bool { failMode == .closed && isDegraded }
}
