import Foundation

/// A plan as admins define it (Traefik Hub's APIPlan): a rate limit, a quota, and whether one consumer's calls to
/// several APIs of the plan share a counter. Access grants reference plans.
public struct Plan: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var description: String
    public var rateLimit: RateLimitView?
    public var quota: Quota?
    public var bucket: PlanBucket
    /// The access grants that use the plan, by name.
    public var grants: [String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, name: String, description: String, rateLimit: RateLimitView?, quota: Quota?, bucket: PlanBucket, grants: [String],
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.rateLimit = rateLimit
        self.quota = quota
        self.bucket = bucket
        self.grants = grants
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension RateLimit {
    /// A rate limit read back from its two columns; nil when either is empty or the pair is no longer valid.
    public static func stored(_ limit: Int?, _ periodSeconds: Int?) -> RateLimit? {
        guard let limit, let periodSeconds else { return nil }
        return try? RateLimit(limit: limit, periodSeconds: periodSeconds)
    }
}

extension Quota {
    /// A quota read back from its two columns; nil when either is empty or the pair is no longer valid.
    public static func stored(_ limit: Int?, _ period: String?) -> Quota? {
        guard let limit, let period, let parsed = QuotaPeriod(rawValue: period) else { return nil }
        return try? Quota(limit: limit, period: parsed)
    }
}
