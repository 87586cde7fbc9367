/// The outcome of counting one call against a quota, with what the quota fields need.
public struct QuotaDecision: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case admitted
        /// The quota is spent for this period.
        case exhausted
        /// This replica's allowance ran out and more is on its way from the database; retry in a moment.
        case renewing
    }

    public let outcome: Outcome
    public let limit: Int
    /// Calls left this period, as far as this replica knows.
    public let remaining: Int
    /// Seconds until the period ends and the quota is whole again.
    public let resetSeconds: Int
    /// The period's nominal length (`RateLimit-Policy`'s `w`).
    public let periodSeconds: Int

    public var allowed: Bool { outcome == .admitted }
}

/// One replica's part of one quota counter in one period. Quotas are counted in PostgreSQL, never on the
/// request path: a replica spends allowance it leased from the database, which takes leases atomically and
/// never beyond what is left, so the replicas together cannot overspend a quota through leases. Each
/// background sync reports the calls admitted since the last one, hands back the lease of a bucket that went
/// quiet, and asks for a lease sized to the bucket's demand (capped at this replica's share of what is left, so
/// one replica cannot hold it all).
///
/// With its lease spent a replica admits a few calls ahead of the next one (see `aheadAllowance`), so a
/// consumer's first call never waits for the database, but only while the last sync said allowance was left.
/// While the database is unreachable and counting is degraded, each replica may spend its share of what the last
/// sync said was left (failing open).
public struct QuotaAllowance: Sendable {
    public let window: QuotaWindow
    /// Allowance leased from the database and not spent yet.
    public private(set) var leased = 0
    /// Calls admitted since the last report was taken, and how many of them spent the lease.
    private var spent = 0
    private var spentFromLease = 0
    /// The same for the report on its way, and the lease it hands back.
    private var syncing = 0
    private var syncingFromLease = 0
    private var releasing = 0
    /// Lease to hand back at the next sync, not to be spent.
    private var toRelease = 0
    private var denied = 0
    private var quietSyncs = 0
    /// As of the last sync: calls the replicas counted this period, and allowance no replica holds.
    public private(set) var clusterUsed: Int?
    public private(set) var available: Int?

    /// A bucket quiet for this many syncs hands its lease back, so busier replicas can use it.
    public static let quietSyncsBeforeRelease = 5
    /// A bucket quiet for this many syncs is forgotten (what was left is needed while the database is down).
    public static let quietSyncsBeforeForgetting = 3_000
    /// The smallest lease asked for.
    public static let minimumLease = 4

    public init(window: QuotaWindow) { self.window = window }

    /// What the next sync sends for this counter.
    public struct Report: Sendable, Equatable {
        /// Calls admitted since the last report.
        public let spent: Int
        /// Lease to take off the counter's reservations: what was spent of it, and what is handed back.
        public let unreserve: Int
        /// Lease to ask for.
        public let want: Int

        public init(spent: Int, unreserve: Int, want: Int) {
            self.spent = spent
            self.unreserve = unreserve
            self.want = want
        }
    }

    /// Counts one call at `now` (seconds since 1970) if the allowance admits it.
    public mutating func admit(limit: Int, period: QuotaPeriod, replicas: Int, degraded: Bool, now: Int64) -> QuotaDecision {
        let outcome: QuotaDecision.Outcome
        if leased > 0 {
            leased -= 1
            spent += 1
            spentFromLease += 1
            outcome = .admitted
        } else if spent - spentFromLease + syncing - syncingFromLease < aheadAllowance(limit: limit, replicas: replicas, degraded: degraded) {
            spent += 1
            outcome = .admitted
        } else {
            denied += 1
            outcome = (available ?? 1) <= 0 ? .exhausted : .renewing
        }
        return QuotaDecision(
            outcome: outcome, limit: limit, remaining: remaining(limit: limit), resetSeconds: window.secondsLeft(from: now),
            periodSeconds: period.nominalSeconds)
    }

    /// Calls this replica may admit beyond its lease until the next sync: a twentieth of its share of what the
    /// last sync said was left (of the whole quota before the first sync), and at least one call while anything
    /// was left, so that the replicas together overspend a quota by at most 5 % and one call each. Degraded, its
    /// whole share of what was left (of the whole quota when it knows nothing yet).
    private func aheadAllowance(limit: Int, replicas: Int, degraded: Bool) -> Int {
        let replicas = max(1, replicas)
        let left = available ?? limit
        guard left > 0 else { return 0 }
        return degraded ? (left + replicas - 1) / replicas : max(1, left / (20 * replicas))
    }

    /// Calls left this period as far as this replica knows: the limit less what the cluster counted and what
    /// this replica admitted since.
    public func remaining(limit: Int) -> Int { max(0, limit - (clusterUsed ?? 0) - spent - syncing) }

    /// Takes what the next sync reports, or nil when this counter has nothing to say. The lease asked for is
    /// twice the calls that came since the last sync (admitted or refused), capped at this replica's share of what
    /// is left (of the whole quota before the first sync).
    /// `leasing` false asks for no lease: the first sync after an outage only reports, so that a replica does not
    /// lease what the others spent while the database was away and have not reported yet.
    public mutating func takeReport(limit: Int, replicas: Int, leasing: Bool = true) -> Report? {
        let demand = spent + denied
        quietSyncs = demand > 0 ? 0 : quietSyncs + 1
        var release = toRelease
        toRelease = 0
        if quietSyncs >= Self.quietSyncsBeforeRelease, leased > 0 {
            release += leased
            leased = 0
        }
        var want = 0
        if demand > 0, leasing {
            let replicas = max(1, replicas)
            let share = max(1, ((available ?? limit) + replicas - 1) / replicas)
            want = max(0, min(max(Self.minimumLease, 2 * demand), share) - leased)
        }
        denied = 0
        guard spent > 0 || release > 0 || want > 0 else { return nil }
        let report = Report(spent: spent, unreserve: spentFromLease + release, want: want)
        (syncing, syncingFromLease, releasing) = (spent, spentFromLease, release)
        (spent, spentFromLease) = (0, 0)
        return report
    }

    /// Takes the last report of a counter whose period is over: its calls, and no lease.
    public mutating func takeFinalReport() -> Report? {
        guard spent > 0 else { return nil }
        let report = Report(spent: spent, unreserve: spentFromLease, want: 0)
        (syncing, syncingFromLease, releasing) = (spent, spentFromLease, 0)
        (spent, spentFromLease, leased) = (0, 0, 0)
        return report
    }

    /// The database counted the last report: the counter's totals after it, and the lease it granted.
    public mutating func synced(used: Int, reserved: Int, granted: Int, limit: Int) {
        clusterUsed = used
        available = max(0, limit - used - reserved)
        leased += granted
        (syncing, syncingFromLease, releasing) = (0, 0, 0)
    }

    /// Hands the lease back at the next sync instead of spending it: a sync that spanned an outage leased from
    /// totals that did not count what the replicas spent meanwhile.
    public mutating func handBackLease() {
        toRelease += leased
        leased = 0
    }

    /// The last report did not reach the database: its calls are reported again next time, and the lease it
    /// handed back is handed back then.
    public mutating func syncFailed() {
        spent += syncing
        spentFromLease += syncingFromLease
        toRelease += releasing
        (syncing, syncingFromLease, releasing) = (0, 0, 0)
    }

    /// Whether the counter can be forgotten: quiet for long, nothing left to report or hand back. An exhausted one is kept
    /// until its period ends, so its consumer is not admitted again ahead of a lease.
    public var isSettled: Bool {
        leased == 0 && spent == 0 && syncing == 0 && releasing == 0 && toRelease == 0 && quietSyncs >= Self.quietSyncsBeforeForgetting
            && available != 0
    }

    /// Whether everything admitted has been reported (for a counter whose period is over).
    public var isReported: Bool { spent == 0 && syncing == 0 }
}
