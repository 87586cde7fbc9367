import NIOCore
import NIOHTTP1
import PorticoCore

/// What the gateway changes on the way upstream: credentials taken out, claims put in.
public struct UpstreamRequestChanges: Sendable {
    /// Lowercased names of client headers not to forward.
    public var removedHeaders: Set<String> = []
    /// The client's `Authorization` header stays at the gateway (the common case, checked without copying names).
    public var removesAuthorization = false
    public var addedHeaders: [(name: String, value: String)] = []
    /// The query to send instead of the client's; `.some(nil)` sends none.
    public var query: String?? = nil
    /// A cookie of the gateway's own (an OIDC session) taken out of the client's `Cookie` header.
    public var removedCookie: String?

    public init() {}
}

/// The request head sent upstream, and the headers of the answer sent back.
package enum UpstreamRequest {
    /// Header names a `Connection` header lists beyond `close` and `keep-alive`, lowercased: they go no further.
    static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        var tokens: Set<String> = []
        for value in headers[canonicalForm: HeaderNames.connection]
        where !value.equalsIgnoringASCIICase("close") && !HeaderNameRules.isHopByHop(value) {
            tokens.insert(value.lowercased())
        }
        return tokens
    }

    package static func head(for request: GatewayRequest, api: GatewayAPI, changes: UpstreamRequestChanges) -> HTTPRequestHead {
        var target = api.upstreamPath(for: String(request.path))
        let query: Substring?
        if let replaced = changes.query { query = replaced.map { $0[...] } } else { query = request.query }
        if let query, !query.isEmpty {
            target += "?"
            target += query
        }
        var headers = forwardedHeaders(request, changes: changes)
        headers.replaceOrAdd(name: HeaderNames.host, value: api.upstream.hostHeader)
        // A chunked client body stays chunked (the encoder frames it); a Content-Length was kept as it is.
        if request.headers.contains(name: HeaderNames.transferEncoding) { headers.add(name: HeaderNames.transferEncoding, value: "chunked") }
        return HTTPRequestHead(version: .http1_1, method: request.head.method, uri: target, headers: headers)
    }

    static func forwardedHeaders(_ request: GatewayRequest, changes: UpstreamRequestChanges) -> HTTPHeaders {
        let incoming = request.headers
        let connectionTokens = connectionTokens(incoming)
        // Names are compared in place; a lowercased copy is made only when a Connection header or the
        // credential settings name headers to drop.
        let dropsNamedHeaders = !connectionTokens.isEmpty || !changes.removedHeaders.isEmpty
        var headers = HTTPHeaders()
        headers.reserveCapacity(incoming.count + changes.addedHeaders.count + 3)
        var priorFor = ""
        for (name, value) in incoming {
            if name.equalsIgnoringASCIICase(HeaderNames.forwardedFor) {
                priorFor = priorFor.isEmpty ? value : priorFor + ", " + value
                continue
            }
            // The gateway sets the forwarding headers and its own `X-Portico-*` itself, and answers
            // `Expect: 100-continue` itself.
            if HeaderNameRules.isHopByHop(name) || name.equalsIgnoringASCIICase(HeaderNames.forwardedProto)
                || name.equalsIgnoringASCIICase(HeaderNames.forwardedHost) || name.equalsIgnoringASCIICase(HeaderNames.expect)
                || name.hasPrefixIgnoringASCIICase(HeaderNames.porticoPrefix)
                || (changes.removesAuthorization && name.equalsIgnoringASCIICase(HeaderNames.authorization))
            {
                continue
            }
            if dropsNamedHeaders {
                let lowered = name.lowercased()
                if connectionTokens.contains(lowered) || changes.removedHeaders.contains(lowered) { continue }
            }
            if let cookie = changes.removedCookie, name.equalsIgnoringASCIICase(HeaderNames.cookie) {
                let kept = value.split(separator: ";").filter { pair in
                    pair.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) != cookie
                }
                if !kept.isEmpty { headers.add(name: name, value: kept.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")) }
                continue
            }
            headers.add(name: name, value: value)
        }
        for (name, value) in changes.addedHeaders { headers.add(name: name, value: value) }
        if let clientAddress = request.clientAddress {
            headers.add(name: HeaderNames.forwardedFor, value: priorFor.isEmpty ? clientAddress : priorFor + ", " + clientAddress)
        } else if !priorFor.isEmpty {
            headers.add(name: HeaderNames.forwardedFor, value: priorFor)
        }
        headers.add(name: HeaderNames.forwardedProto, value: "http")
        if let host = request.authority { headers.add(name: HeaderNames.forwardedHost, value: host) }
        return headers
    }

    /// The upstream's answer headers without the connection-level ones, plus the gateway's own.
    static func responseHeaders(_ upstream: HTTPHeaders, adding extra: HTTPHeaders) -> HTTPHeaders {
        let connectionTokens = connectionTokens(upstream)
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.count + extra.count)
        for (name, value) in upstream {
            if HeaderNameRules.isHopByHop(name) || (!connectionTokens.isEmpty && connectionTokens.contains(name.lowercased())) { continue }
            if !extra.isEmpty, extra.contains(name: name) { continue }
            headers.add(name: name, value: value)
        }
        headers.add(contentsOf: extra)
        return headers
    }
}
