/// The outcome of one rate-limit decision, with everything the `X-RateLimit-*` headers need.
public struct RateLimitDecision: Sendable, Equatable {
    public let allowed: Bool
    public let limit: Int
    public let remaining: Int
    /// Whole seconds until the full quota is available again.
    public let resetSeconds: Int
    /// Whole seconds until the next request would be accepted (0 when allowed).
    public let retryAfterSeconds: Int
    public let periodSeconds: Int
}

/// Generic Cell Rate Algorithm (the leaky bucket as a meter, ITU-T I.371): the state per consumer is one
/// number, the theoretical arrival time (TAT). A limit of N per period P spaces requests by P/N and allows a
/// burst of N. It needs no window boundaries, so there is no double burst at a window edge, and it costs
/// O(1) memory per consumer.
public enum GCRA {
    /// Decides one request at `now` (nanoseconds on a monotonic clock) given the stored TAT (nil when the
    /// consumer is new). Returns the decision and the TAT to store.
    public static func decide(tat: Int64?, now: Int64, limit: RateLimit) -> (RateLimitDecision, newTAT: Int64) {
        let period = Int64(limit.periodSeconds) * 1_000_000_000
        let interval = period / Int64(limit.limit)
        let start = max(tat ?? now, now)
        let candidate = start + interval
        if candidate - now <= period {
            let used = candidate - now
            let remaining = Int((period - used) / max(interval, 1))
            let decision = RateLimitDecision(
                allowed: true, limit: limit.limit, remaining: remaining,
                resetSeconds: ceilSeconds(used), retryAfterSeconds: 0, periodSeconds: limit.periodSeconds)
            return (decision, candidate)
        }
        let wait = candidate - now - period
        let decision = RateLimitDecision(
            allowed: false, limit: limit.limit, remaining: 0,
            resetSeconds: ceilSeconds(start - now), retryAfterSeconds: max(1, ceilSeconds(wait)),
            periodSeconds: limit.periodSeconds)
        return (decision, start)
    }

    /// Decides one request against a limit shared by `replicas` gateways (`--rate-limit-store cluster`).
    /// `base` is the cluster's TAT as of this replica's last sync (nil for a bucket it has not synced), `pending`
    /// the requests this replica admitted since. Until the next sync each other replica is assumed to keep this
    /// one's pace, so each request counts `replicas` times against what is left: together the replicas admit
    /// the limit, not the limit times their number, and with one replica this is plain GCRA. `now` is
    /// nanoseconds on the wall clock the replicas share.
    public static func decideShared(base: Int64?, pending: Int, now: Int64, limit: RateLimit, replicas: Int) -> RateLimitDecision {
        let period = Int64(limit.periodSeconds) * 1_000_000_000
        let share = period / Int64(limit.limit) * Int64(max(1, replicas))
        let start = max(base ?? now, now)
        let used = start - now + Int64(pending + 1) * share
        if used <= period {
            return RateLimitDecision(
                allowed: true, limit: limit.limit, remaining: Int((period - used) / max(share, 1)),
                resetSeconds: ceilSeconds(used), retryAfterSeconds: 0, periodSeconds: limit.periodSeconds)
        }
        return RateLimitDecision(
            allowed: false, limit: limit.limit, remaining: 0, resetSeconds: ceilSeconds(used - share),
            retryAfterSeconds: max(1, ceilSeconds(used - period)), periodSeconds: limit.periodSeconds)
    }

    static func ceilSeconds(_ nanos: Int64) -> Int {
        guard nanos > 0 else { return 0 }
        return Int((nanos + 999_999_999) / 1_000_000_000)
    }
}
