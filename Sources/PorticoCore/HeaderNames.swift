/// The header names Portico reads or writes itself, spelled once. HTTP field names are case-insensitive; these
/// are the canonical spellings, which is also how the gateway writes them.
public enum HeaderNames {
    public static let authorization = "Authorization"
    public static let connection = "Connection"
    public static let contentLength = "Content-Length"
    public static let contentType = "Content-Type"
    public static let cookie = "Cookie"
    public static let deprecation = "Deprecation"
    public static let expect = "Expect"
    public static let forwardedFor = "X-Forwarded-For"
    public static let forwardedHost = "X-Forwarded-Host"
    public static let forwardedProto = "X-Forwarded-Proto"
    public static let host = "Host"
    /// The gateway's own headers to the upstream, telling it who is calling; a client's copies never get through.
    public static let porticoPrefix = "X-Portico-"
    public static let porticoUser = "X-Portico-User"
    public static let porticoGroups = "X-Portico-Groups"
    public static let porticoKeyId = "X-Portico-Key-Id"
    /// The portal's try-it pass (`TryItPass`); under the gateway's own prefix, so it never reaches an upstream.
    public static let porticoTryIt = "X-Portico-Try-It"
    public static let rateLimitLimit = "X-RateLimit-Limit"
    public static let rateLimitPeriod = "X-RateLimit-Period"
    public static let rateLimitRemaining = "X-RateLimit-Remaining"
    public static let rateLimitReset = "X-RateLimit-Reset"
    public static let quotaLimit = "X-Quota-Limit"
    public static let quotaRemaining = "X-Quota-Remaining"
    public static let quotaReset = "X-Quota-Reset"
    public static let retryAfter = "Retry-After"
    public static let requestId = "X-Request-Id"
    /// draft-ietf-httpapi-ratelimit-headers-11.
    public static let rateLimitPolicy = "RateLimit-Policy"
    public static let rateLimit = "RateLimit"
    public static let transferEncoding = "Transfer-Encoding"
    public static let wwwAuthenticate = "WWW-Authenticate"
}
