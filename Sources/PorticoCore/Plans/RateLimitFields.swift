/// Which rate-limit fields a gateway response carries: Traefik Hub's `X-RateLimit-*` (and `X-Quota-*`), the
/// IETF draft's `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11), both, or none.
public enum RateLimitHeaderStyle: String, Sendable, CaseIterable {
    case x, ietf, both, none

    public var sendsX: Bool { self == .x || self == .both }
    public var sendsIETF: Bool { self == .ietf || self == .both }
}

/// One policy's state after a decision, as the IETF fields describe it.
public struct LimitPolicyState: Sendable, Equatable {
    public let name: String
    /// `q`: calls the policy allows per window.
    public let limit: Int
    /// `w`: the window in seconds.
    public let windowSeconds: Int
    /// `r`: calls left.
    public let remaining: Int
    /// `t`: seconds until the allowance is whole again.
    public let resetSeconds: Int

    public init(name: String, limit: Int, windowSeconds: Int, remaining: Int, resetSeconds: Int) {
        self.name = name
        self.limit = limit
        self.windowSeconds = windowSeconds
        self.remaining = remaining
        self.resetSeconds = resetSeconds
    }

    /// A rate limit's state: the plan's (or grant's) `-rate` policy.
    public static func rate(_ base: String, _ decision: RateLimitDecision) -> LimitPolicyState {
        LimitPolicyState(
            name: RateLimitFields.ratePolicyName(base), limit: decision.limit, windowSeconds: decision.periodSeconds,
            remaining: decision.remaining, resetSeconds: decision.resetSeconds)
    }

    /// A quota's state: the plan's `-quota` policy.
    public static func quota(_ base: String, _ decision: QuotaDecision) -> LimitPolicyState {
        LimitPolicyState(
            name: RateLimitFields.quotaPolicyName(base), limit: decision.limit, windowSeconds: decision.periodSeconds,
            remaining: decision.remaining, resetSeconds: decision.resetSeconds)
    }

    /// The share of the allowance left, to find the policy closest to exhaustion.
    var fractionLeft: Double { Double(remaining) / Double(max(1, limit)) }
}

/// The IETF draft's field values, as structured-field lists (RFC 9651): each policy's name as an sf-string,
/// with integer parameters.
public enum RateLimitFields {
    /// The names of a plan's (or a plan-less grant's) policies in `RateLimit-Policy`, `RateLimit` and
    /// `violated-policies`.
    public static func ratePolicyName(_ base: String) -> String { "\(base)-rate" }
    public static func quotaPolicyName(_ base: String) -> String { "\(base)-quota" }

    /// `RateLimit-Policy`: `"<policy>";q=<limit>;w=<window in seconds>` for each policy.
    public static func policy(_ states: [LimitPolicyState]) -> String {
        states.map { "\(string($0.name));q=\($0.limit);w=\($0.windowSeconds)" }.joined(separator: ", ")
    }

    /// `RateLimit`: `"<policy>";r=<remaining>;t=<seconds until whole again>` for the policy closest to
    /// exhaustion (the smallest share left; the first of equals).
    public static func state(_ states: [LimitPolicyState]) -> String {
        guard var closest = states.first else { return "" }
        for state in states.dropFirst() where state.fractionLeft < closest.fractionLeft { closest = state }
        return "\(string(closest.name));r=\(closest.remaining);t=\(closest.resetSeconds)"
    }

    /// An sf-string (RFC 9651 §3.3.3).
    static func string(_ text: String) -> String { "\"\(QuotedString.escaped(text))\"" }
}
