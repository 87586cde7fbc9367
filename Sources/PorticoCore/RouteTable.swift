/// Finds the API for a request: the longest matching path prefix, then a host-specific API before a
/// host-less one. Lookups walk the request path's segment boundaries, so their cost depends on the
/// path's depth, not on the number of APIs.
public struct RouteTable: Sendable {
    /// Keyed by substrings so that the request path's prefixes are looked up without making a string of each.
    private let byPrefix: [Substring: [GatewayAPI]]

    public init(apis: [GatewayAPI]) {
        var byPrefix: [Substring: [GatewayAPI]] = [:]
        for api in apis where api.status != .disabled {
            byPrefix[api.pathPrefix[...], default: []].append(api)
        }
        for key in byPrefix.keys {
            byPrefix[key]?.sort { ($0.host != nil ? 0 : 1, $0.name) < ($1.host != nil ? 0 : 1, $1.name) }
        }
        self.byPrefix = byPrefix
    }

    /// `path` is the request's percent-encoded path (no query); `host` the Host header (port allowed).
    public func match(path: some StringProtocol, host: (some StringProtocol)?) -> GatewayAPI? {
        var candidate: Substring? = Substring(path)
        while let prefix = candidate {
            if let apis = byPrefix[prefix], let api = Self.pick(apis, host: host) {
                return api
            }
            candidate = Self.shorter(prefix)
        }
        return nil
    }

    /// For the explainer: the prefixes `match` looks up for `path`, longest first, up to the one that matched, and
    /// what each holds.
    public func prefixesTried(path: some StringProtocol, host: (some StringProtocol)?) -> [(prefix: String, apis: [String])] {
        var tried: [(prefix: String, apis: [String])] = []
        var candidate: Substring? = Substring(path)
        while let prefix = candidate {
            let apis = byPrefix[prefix] ?? []
            tried.append((String(prefix), apis.map { api in api.host.map { "\(api.name) (host \($0))" } ?? api.name }))
            if Self.pick(apis, host: host) != nil { break }
            candidate = Self.shorter(prefix)
        }
        return tried
    }

    /// The next prefix to look up: up to the last `/`, nil after `/`.
    private static func shorter(_ candidate: Substring) -> Substring? {
        // Bytes, not characters: '/' is ASCII, and this runs for every request.
        guard candidate.utf8.count > 1, let slash = candidate.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let shorter = candidate[..<slash]
        return shorter.isEmpty ? "/" : shorter
    }

    private static func pick(_ apis: [GatewayAPI], host: (some StringProtocol)?) -> GatewayAPI? {
        // The Host header is normalised only where a prefix has host-specific APIs.
        if let host, apis.contains(where: { $0.host != nil }) {
            let requestHost = normalizedHost(host)
            if let exact = apis.first(where: { $0.host == requestHost }) { return exact }
        }
        return apis.first(where: { $0.host == nil })
    }

    static func normalizedHost(_ raw: some StringProtocol) -> String {
        var host = Substring(raw)
        if host.hasPrefix("[") {
            if let end = host.firstIndex(of: "]") { host = host[host.index(after: host.startIndex)..<end] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return host.lowercased()
    }
}
