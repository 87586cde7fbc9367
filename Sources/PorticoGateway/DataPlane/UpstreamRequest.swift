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

/// The request head sent upstream and the response head sent back, written as bytes: the fields the gateway does
/// not touch are copied as the peer sent them, and its edits are spliced in.
package enum UpstreamRequest {
    package static func head(for request: GatewayRequest, api: GatewayAPI, changes: UpstreamRequestChanges) -> ByteBuffer {
        var target = api.upstreamPath(for: String(request.path))
        let query: Substring?
        if let replaced = changes.query { query = replaced.map { $0[...] } } else { query = request.query }
        if let query, !query.isEmpty {
            target += "?"
            target += query
        }
        var out = ByteBuffer()
        out.reserveCapacity(request.bytes.readableBytes + 256)
        request.bytes.withUnsafeReadableBytes { raw in
            let head = request.parsed
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.method]))
            out.writeStaticString(" ")
            out.writeString(target)
            // An HTTP/1.0 client's request goes up as HTTP/1.0, so the answer comes back in a framing it reads.
            out.writeStaticString(request.isHTTP10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
            out.writeField(HeaderNames.host, api.upstream.hostHeader)
            writeForwardedFields(of: request, raw: raw, changes: changes, into: &out)
        }
        for (name, value) in changes.addedHeaders { out.writeField(name, value) }
        switch request.parsed.framing {
        case .chunked: out.writeField(HeaderNames.transferEncoding, "chunked")
        case .contentLength(let length): out.writeField(HeaderNames.contentLength, String(length))
        case .none: break
        }
        out.writeStaticString("\r\n")
        return out
    }

    private static func writeForwardedFields(
        of request: GatewayRequest, raw: UnsafeRawBufferPointer, changes: UpstreamRequestChanges, into out: inout ByteBuffer
    ) {
        let connectionTokens = connectionTokens(request.parsed.fields, raw: raw)
        // Names are compared in place; a lowercased copy is made only when a Connection header or the credential
        // settings name headers to drop.
        let dropsNamedHeaders = !connectionTokens.isEmpty || !changes.removedHeaders.isEmpty
        var priorFor: [String] = []
        var sawContentLength = false
        for field in request.parsed.fields {
            let name = raw[field.name]
            if Byte.equalsIgnoringCase(name, "x-forwarded-for") {
                priorFor.append(String(decoding: raw[field.value], as: UTF8.self))
                continue
            }
            if Byte.equalsIgnoringCase(name, "content-length") {
                sawContentLength = true
                continue
            }
            // The gateway sets the forwarding headers and its own `X-Portico-*` itself, answers
            // `Expect: 100-continue` itself, and frames the body itself.
            if isHopByHop(name) || Byte.equalsIgnoringCase(name, "x-forwarded-proto") || Byte.equalsIgnoringCase(name, "x-forwarded-host")
                || Byte.equalsIgnoringCase(name, "expect") || hasPorticoPrefix(name)
                || (changes.removesAuthorization && Byte.equalsIgnoringCase(name, "authorization"))
            {
                continue
            }
            if dropsNamedHeaders {
                let lowered = String(decoding: name, as: UTF8.self).lowercased()
                if connectionTokens.contains(lowered) || changes.removedHeaders.contains(lowered) { continue }
            }
            if let cookie = changes.removedCookie, Byte.equalsIgnoringCase(name, "cookie") {
                let value = String(decoding: raw[field.value], as: UTF8.self)
                let kept = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { pair in
                    pair.split(separator: "=", maxSplits: 1).first.map(String.init) != cookie
                }
                if !kept.isEmpty { out.writeField(HeaderNames.cookie, kept.joined(separator: "; ")) }
                continue
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.name.lowerBound..<field.value.upperBound]))
            out.writeStaticString("\r\n")
        }
        if sawContentLength, request.parsed.framing == .none { out.writeField(HeaderNames.contentLength, "0") }
        if let clientAddress = request.clientAddress { priorFor.append(clientAddress) }
        if !priorFor.isEmpty { out.writeField(HeaderNames.forwardedFor, priorFor.joined(separator: ", ")) }
        out.writeField(HeaderNames.forwardedProto, request.secure ? "https" : "http")
        if let host = request.authority { out.writeField(HeaderNames.forwardedHost, host) }
    }

    /// The answer's head for the client: the upstream's status and fields without the connection-level ones, the
    /// gateway's own added (and winning over the upstream's of the same name), the framing the body keeps.
    package static func responseHead(
        _ head: ResponseHead, bytes: ByteBuffer, adding extra: HTTPHeaders, closing: Bool
    ) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(bytes.readableBytes + 64 + extra.count * 32)
        var dated = false
        out.writeStaticString("HTTP/1.1 ")
        bytes.withUnsafeReadableBytes { raw in
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[head.statusText]))
            out.writeStaticString("\r\n")
            let connectionTokens = connectionTokens(head.fields, raw: raw)
            let reframed: Bool
            switch head.framing {
            case .contentLength, .chunked: reframed = true
            case .none, .untilClose: reframed = false
            }
            for field in head.fields {
                let name = raw[field.name]
                if !dated, Byte.equalsIgnoringCase(name, "date") { dated = true }
                if isHopByHop(name) || (reframed && Byte.equalsIgnoringCase(name, "content-length")) { continue }
                if !connectionTokens.isEmpty, connectionTokens.contains(String(decoding: name, as: UTF8.self).lowercased()) { continue }
                if !extra.isEmpty, extra.contains(where: { Byte.equalsName(name, $0.name) }) { continue }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[field.name.lowerBound..<field.value.upperBound]))
                out.writeStaticString("\r\n")
            }
        }
        for (name, value) in extra { out.writeField(name, value) }
        // A recipient with a clock adds the Date an answer came without (RFC 9110 §6.6.1).
        if !dated { out.writeField("Date", HTTPDate.now()) }
        switch head.framing {
        case .contentLength(let length): out.writeField(HeaderNames.contentLength, String(length))
        case .chunked: out.writeField(HeaderNames.transferEncoding, "chunked")
        case .none, .untilClose: break
        }
        if closing { out.writeField(HeaderNames.connection, "close") }
        out.writeStaticString("\r\n")
        return out
    }

    /// The head of an answer of the gateway's own, whose body follows in one piece.
    static func answerHead(status: HTTPResponseStatus, headers: HTTPHeaders, bodyLength: Int, closing: Bool) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(128 + headers.count * 32)
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(status.code))
        out.writeStaticString(" ")
        out.writeString(status.reasonPhrase)
        out.writeStaticString("\r\n")
        for (name, value) in headers { out.writeField(name, value) }
        if status.code >= 200 {
            out.writeField("Date", HTTPDate.now())
            out.writeField(HeaderNames.contentLength, String(bodyLength))
            if closing { out.writeField(HeaderNames.connection, "close") }
        }
        out.writeStaticString("\r\n")
        return out
    }

    /// Header names a `Connection` header lists beyond `close` and `keep-alive`, lowercased: they go no further.
    static func connectionTokens(_ fields: [RequestHead.Field], raw: UnsafeRawBufferPointer) -> Set<String> {
        var tokens: Set<String> = []
        for field in fields where Byte.equalsIgnoringCase(raw[field.name], "connection") {
            for item in Byte.listItems(raw[field.value]) where !item.isEmpty && !Byte.equalsIgnoringCase(item, "close") {
                let token = String(decoding: item, as: UTF8.self)
                if !HeaderNameRules.isHopByHop(token) { tokens.insert(token.lowercased()) }
            }
        }
        return tokens
    }

    static func isHopByHop(_ name: Slice<UnsafeRawBufferPointer>) -> Bool {
        HeaderNameRules.hopByHop.contains { Byte.equalsName(name, $0) }
    }

    private static func hasPorticoPrefix(_ name: Slice<UnsafeRawBufferPointer>) -> Bool {
        let prefix = "x-portico-".utf8
        guard name.count >= prefix.count else { return false }
        return zip(name, prefix).allSatisfy { Byte.lowercased($0) == $1 }
    }
}

extension ByteBuffer {
    /// `name: value` and its CRLF.
    mutating func writeField(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}
