/// Finds the API for a request: the longest matching path prefix, then a host-specific API before a
/// host-less one. Lookups walk the request path's segment boundaries, so their cost depends on the
/// path's depth, not on the number of APIs.
public struct RouteTable: Sendable {
    private let byPrefix: [String: [GatewayAPI]]

    public init(apis: [GatewayAPI]) {
        var byPrefix: [String: [GatewayAPI]] = [:]
        for api in apis where api.status != .disabled {
            byPrefix[api.pathPrefix, default: []].append(api)
        }
        for key in byPrefix.keys {
            byPrefix[key]?.sort { ($0.host != nil ? 0 : 1, $0.name) < ($1.host != nil ? 0 : 1, $1.name) }
        }
        self.byPrefix = byPrefix
    }

    /// `path` is the request's percent-encoded path (no query); `host` the Host header (port allowed).
    public func match(path: some StringProtocol, host: (some StringProtocol)?) -> GatewayAPI? {
        let requestHost = host.map { Self.normalizedHost($0) }
        var candidate = Substring(path)
        while true {
            if let apis = byPrefix[String(candidate)], let api = Self.pick(apis, host: requestHost) {
                return api
            }
            guard candidate.count > 1 else { return nil }
            if let slash = candidate.lastIndex(of: "/") {
                candidate = candidate[..<slash]
                if candidate.isEmpty { candidate = "/" }
            } else {
                return nil
            }
        }
    }

    private static func pick(_ apis: [GatewayAPI], host: String?) -> GatewayAPI? {
        if let host, let exact = apis.first(where: { $0.host == host }) { return exact }
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
