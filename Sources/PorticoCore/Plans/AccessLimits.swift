import Foundation

/// A plan as the policy compiler takes it.
public struct CompiledPlan: Sendable, Hashable {
    public let id: UUID
    public let name: String
    public let rateLimit: RateLimit?
    public let quota: Quota?
    public let bucket: PlanBucket

    public init(id: UUID, name: String, rateLimit: RateLimit?, quota: Quota?, bucket: PlanBucket) {
        self.id = id
        self.name = name
        self.rateLimit = rateLimit
        self.quota = quota
        self.bucket = bucket
    }
}

/// What a grant lets a consumer do on one API: a rate limit, a quota, both, or neither (unlimited), and the
/// plan they come from. A grant with a plan and an inline rate limit takes the inline rate limit and the
/// plan's quota and bucket; a grant without a plan is a plan without a quota.
public struct AccessLimits: Sendable, Hashable {
    public let rate: RateLimit?
    public let quota: Quota?
    public let bucket: PlanBucket
    public let plan: CompiledPlan?

    public init(rate: RateLimit?, quota: Quota? = nil, bucket: PlanBucket = .consumerAPI, plan: CompiledPlan? = nil) {
        self.rate = rate
        self.quota = quota
        self.bucket = bucket
        self.plan = plan
    }

    /// A grant's limits: its inline rate limit over its plan's, and its plan's quota and bucket.
    public init(grantRate: RateLimit?, plan: CompiledPlan?) {
        self.init(rate: grantRate ?? plan?.rateLimit, quota: plan?.quota, bucket: plan?.bucket ?? .consumerAPI, plan: plan)
    }

    public static let unlimited = AccessLimits(rate: nil)

    public static func rate(_ limit: RateLimit) -> AccessLimits { AccessLimits(rate: limit) }

    public var isUnlimited: Bool { rate == nil && quota == nil }

    /// The most-generous rule (Traefik Hub's "most access"): no limit beats any limit; otherwise the larger
    /// quota wins, then the larger rate. Of two quotas or two rates, none beats any, then the higher average
    /// (calls per second) wins, then the larger limit (the larger burst).
    public func isMoreGenerous(than other: AccessLimits) -> Bool {
        if isUnlimited || other.isUnlimited { return isUnlimited && !other.isUnlimited }
        switch Self.compare(quota.map { ($0.rate, $0.limit) }, other.quota.map { ($0.rate, $0.limit) }) {
        case .orderedDescending: return true
        case .orderedAscending: return false
        case .orderedSame: return Self.compare(rate.map { ($0.rate, $0.limit) }, other.rate.map { ($0.rate, $0.limit) }) == .orderedDescending
        }
    }

    /// The most generous of `limits`, or nil when there are none.
    public static func mostGenerous(_ limits: some Sequence<AccessLimits>) -> AccessLimits? {
        limits.reduce(nil) { best, next in
            guard let best else { return next }
            return next.isMoreGenerous(than: best) ? next : best
        }
    }

    /// nil (no limit) is the largest.
    private static func compare(_ mine: (Double, Int)?, _ theirs: (Double, Int)?) -> ComparisonResult {
        switch (mine, theirs) {
        case (nil, nil): .orderedSame
        case (nil, _): .orderedDescending
        case (_, nil): .orderedAscending
        case (let mine?, let theirs?): mine == theirs ? .orderedSame : (mine > theirs ? .orderedDescending : .orderedAscending)
        }
    }
}
