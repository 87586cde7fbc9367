import Foundation

/// Whether the gateway routes an API: published, deprecated (routed, answered with `Deprecation: true`) or disabled
/// (not routed).
public enum APIStatus: String, Sendable, Codable, CaseIterable {
    case published, deprecated, disabled
}

/// An upstream parsed once at compile time, so the hot path never parses URLs.
public struct Upstream: Sendable, Hashable {
    public let scheme: String
    public let host: String
    public let port: Int
    /// The upstream's own path without a trailing slash ("" for none).
    public let basePath: String
    /// The `Host` header for requests to it (the port left out when it is the scheme's default).
    public let hostHeader: String

    public var origin: String { "\(scheme)://\(hostForURL):\(port)" }
    private var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// Parses an absolute http(s) URL; anything else is an `invalid(upstream)` error.
    public init(_ text: String, field: String = "upstream") throws(PorticoError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { throw .invalid(field: field, reason: "'\(text)' is not an absolute http(s) URL") }
        guard components.user == nil, components.password == nil else {
            throw .invalid(field: field, reason: "must not contain credentials")
        }
        guard components.query == nil, components.fragment == nil else {
            throw .invalid(field: field, reason: "must not contain a query or fragment")
        }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
        let bracketed = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = port == (scheme == "https" ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }
}

/// An API as the gateway sees it.
public struct GatewayAPI: Sendable, Hashable {
    public let id: UUID
    public let name: String
    public let pathPrefix: String
    /// Lower-cased host without port, or nil for any host.
    public let host: String?
    public let upstream: Upstream
    public let stripPrefix: Bool
    public let status: APIStatus
    /// In JWT mode, the issuers of the trusted identity providers whose tokens this API accepts (sorted); nil for all.
    public let tokenIssuers: [String]?
    /// Set when the API needs an OIDC session of its own instead of the auth settings' mode.
    public let oidc: OIDCRoute?
    /// Whether the consumer's credential goes on to the upstream (else only the gateway's `X-Portico-*` headers do).
    public let forwardCredential: Bool
    /// The largest request body the API takes; nil for no limit.
    public let maxBodyBytes: Int?

    public init(
        id: UUID, name: String, pathPrefix: String, host: String?, upstream: Upstream, stripPrefix: Bool, status: APIStatus,
        tokenIssuers: [String]? = nil, oidc: OIDCRoute? = nil, forwardCredential: Bool = false, maxBodyBytes: Int? = nil
    ) {
        self.forwardCredential = forwardCredential
        self.maxBodyBytes = maxBodyBytes
        self.oidc = oidc
        self.id = id
        self.name = name
        self.pathPrefix = pathPrefix
        self.host = host?.lowercased()
        self.upstream = upstream
        self.stripPrefix = stripPrefix
        self.status = status
        self.tokenIssuers = tokenIssuers
    }

    /// Whether a token of `issuer`'s provider may call this API; nil is a token verified by the JWT settings' own keys.
    public func acceptsTokens(ofIssuer issuer: String?) -> Bool {
        guard let tokenIssuers else { return true }
        guard let issuer else { return false }
        return tokenIssuers.contains(issuer)
    }

    /// The path to request upstream for a matched request path (percent-encoded, without query).
    public func upstreamPath(for requestPath: String) -> String {
        upstream.basePath + documentPath(for: Substring(requestPath))
    }

    /// The path as the API's OpenAPI document writes it: the request's, without the prefix when the gateway strips it.
    public func documentPath(for requestPath: Substring) -> Substring {
        var rest = requestPath
        if stripPrefix, pathPrefix != "/" {
            rest = rest.dropFirst(pathPrefix.count)
        }
        if rest.isEmpty { return "/" }
        return rest.hasPrefix("/") ? rest : "/" + rest
    }
}
