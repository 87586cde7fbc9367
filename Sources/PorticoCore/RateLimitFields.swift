/// Which rate-limit fields a gateway response carries: Traefik Hub's `X-RateLimit-*`, the IETF draft's
/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11), both, or none.
public enum RateLimitHeaderStyle: String, Sendable, CaseIterable {
    case x, ietf, both, none

    public var sendsX: Bool { self == .x || self == .both }
    public var sendsIETF: Bool { self == .ietf || self == .both }
}

/// The IETF draft's field values, as structured-field lists (RFC 9651) of one item: the policy's name as an
/// sf-string, with integer parameters.
public enum RateLimitFields {
    /// The name of a grant's rate-limit policy in `RateLimit-Policy`, `RateLimit` and `violated-policies`.
    public static func policyName(grant: String) -> String { "\(grant)-rate" }

    /// `RateLimit-Policy`: `"<policy>";q=<limit>;w=<period in seconds>`.
    public static func policy(_ name: String, decision: RateLimitDecision) -> String {
        "\(string(name));q=\(decision.limit);w=\(decision.periodSeconds)"
    }

    /// `RateLimit`: `"<policy>";r=<remaining>;t=<seconds until the whole limit is available again>`.
    public static func state(_ name: String, decision: RateLimitDecision) -> String {
        "\(string(name));r=\(decision.remaining);t=\(decision.resetSeconds)"
    }

    /// An sf-string (RFC 9651 §3.3.3).
    static func string(_ text: String) -> String { "\"\(QuotedString.escaped(text))\"" }
}
