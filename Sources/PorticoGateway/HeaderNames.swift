import HTTPTypes

/// Portico's own header names, made once. `HTTPField.Name` only has a failable initialiser; these are
/// fixed, valid tokens, so a failure here is a typo in this file, caught by the first test that runs.
public enum HeaderNames {
    public static let rateLimitLimit = named("X-RateLimit-Limit")
    public static let rateLimitRemaining = named("X-RateLimit-Remaining")
    public static let rateLimitReset = named("X-RateLimit-Reset")
    public static let rateLimitPeriod = named("X-RateLimit-Period")
    public static let deprecation = named("Deprecation")
    public static let forwardedFor = named("X-Forwarded-For")
    public static let forwardedProto = named("X-Forwarded-Proto")
    public static let upstreamMethod = named("X-Upstream-Method")
    public static let upstreamPath = named("X-Upstream-Path")
    public static let upstreamQuery = named("X-Upstream-Query")

    private static func named(_ literal: StaticString) -> HTTPField.Name {
        guard let name = HTTPField.Name("\(literal)") else { preconditionFailure("'\(literal)' is not an HTTP field name") }
        return name
    }
}
