import NIOCore
import NIOHTTP1
import PorticoCore

/// What the gateway changes on the way upstream: credentials taken out, claims put in.
public struct UpstreamRequestChanges: Sendable {
    /// Lowercased names of client headers not to forward.
    public var removedHeaders: Set<String> = []
    public var addedHeaders: [(name: String, value: String)] = []
    /// The query to send instead of the client's; `.some(nil)` sends none.
    public var query: String?? = nil

    public init() {}
}

/// The request head sent upstream, and the headers of the answer sent back.
enum UpstreamRequest {
    /// Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host",
    ]

    static func head(for request: GatewayRequest, api: GatewayAPI, changes: UpstreamRequestChanges) -> HTTPRequestHead {
        var target = api.upstreamPath(for: String(request.path))
        let query: Substring?
        if let replaced = changes.query { query = replaced.map { $0[...] } } else { query = request.query }
        if let query, !query.isEmpty {
            target += "?"
            target += query
        }
        var headers = forwardedHeaders(request, changes: changes)
        headers.replaceOrAdd(name: "Host", value: api.upstream.hostHeader)
        // A chunked client body stays chunked (the encoder frames it); a Content-Length was kept as it is.
        if request.headers.contains(name: "transfer-encoding") { headers.add(name: "Transfer-Encoding", value: "chunked") }
        return HTTPRequestHead(version: .http1_1, method: request.head.method, uri: target, headers: headers)
    }

    static func forwardedHeaders(_ request: GatewayRequest, changes: UpstreamRequestChanges) -> HTTPHeaders {
        let incoming = request.headers
        var connectionTokens: Set<String> = []
        for value in incoming[canonicalForm: "connection"] { connectionTokens.insert(value.lowercased()) }
        var headers = HTTPHeaders()
        headers.reserveCapacity(incoming.count + changes.addedHeaders.count + 3)
        var priorFor = ""
        for (name, value) in incoming {
            let lowered = name.lowercased()
            if lowered == "x-forwarded-for" {
                priorFor = priorFor.isEmpty ? value : priorFor + ", " + value
                continue
            }
            if hopByHop.contains(lowered) || lowered == "x-forwarded-proto" || lowered == "x-forwarded-host" || lowered == "expect" { continue }
            if (!connectionTokens.isEmpty && connectionTokens.contains(lowered)) || changes.removedHeaders.contains(lowered) { continue }
            headers.add(name: name, value: value)
        }
        for (name, value) in changes.addedHeaders { headers.add(name: name, value: value) }
        if let clientAddress = request.clientAddress {
            headers.add(name: "X-Forwarded-For", value: priorFor.isEmpty ? clientAddress : priorFor + ", " + clientAddress)
        } else if !priorFor.isEmpty {
            headers.add(name: "X-Forwarded-For", value: priorFor)
        }
        headers.add(name: "X-Forwarded-Proto", value: "http")
        if let host = request.authority { headers.add(name: "X-Forwarded-Host", value: host) }
        return headers
    }

    /// The upstream's answer headers without the connection-level ones, plus the gateway's own.
    static func responseHeaders(_ upstream: HTTPHeaders, adding extra: HTTPHeaders) -> HTTPHeaders {
        var connectionTokens: Set<String> = []
        for value in upstream[canonicalForm: "connection"] { connectionTokens.insert(value.lowercased()) }
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.count + extra.count)
        for (name, value) in upstream {
            let lowered = name.lowercased()
            if hopByHop.contains(lowered) || (!connectionTokens.isEmpty && connectionTokens.contains(lowered)) { continue }
            if !extra.isEmpty, extra.contains(name: name) { continue }
            headers.add(name: name, value: value)
        }
        headers.add(contentsOf: extra)
        return headers
    }
}
