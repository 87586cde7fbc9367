import NIOCore
import PorticoCore

/// One client request as the gateway decides on it: the head's bytes as the client sent them and where each part
/// lies in them, the target split once into path and query, and, when a form token source needs it, the body read
/// so far. Headers are read in place, by name, only when a step asks for one.
package struct GatewayRequest: Sendable {
    let bytes: ByteBuffer
    let parsed: RequestHead
    package let method: String
    package let target: String
    let path: Substring
    let query: Substring?
    let clientAddress: String?
    /// The client came over TLS the gateway terminated.
    let secure: Bool
    var formBody: ByteBuffer?
    /// Set by the explainer only: the decision records its steps here, and counts nothing.
    package var trace: DecisionTrace?
    /// `X-Request-Id`: the client's when well formed, else one the gateway made (`assignRequestId`).
    package private(set) var requestId = ""
    /// The gateway made `requestId`, so the upstream request carries it instead of whatever the client sent.
    private(set) var requestIdIsOwn = false
    /// The client sent an `X-Request-Id` that is not well formed: it goes no further.
    private(set) var dropsClientRequestId = false
    /// The host an absolute-form target names, which stands in for `Host` (RFC 9112 §3.2.2).
    private let targetAuthority: Substring?

    package init(bytes: ByteBuffer, head: RequestHead, clientAddress: String?, secure: Bool = false) {
        self.secure = secure
        self.bytes = bytes
        self.parsed = head
        (method, target) = bytes.withUnsafeReadableBytes { raw in
            (String(decoding: raw[head.method], as: UTF8.self), String(decoding: raw[head.target], as: UTF8.self))
        }
        var origin = target[...]
        var authority: Substring?
        if let schemeEnd = Self.absoluteFormSchemeEnd(origin) {
            let rest = origin[schemeEnd...]
            let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            authority = rest[..<pathStart]
            origin = rest[pathStart...]
        }
        targetAuthority = authority
        if let mark = origin.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = origin[..<mark].isEmpty ? "/" : origin[..<mark]
            query = origin[origin.utf8.index(after: mark)...]
        } else {
            path = origin.isEmpty ? "/" : origin
            query = nil
        }
        self.clientAddress = clientAddress
    }

    /// Parses `bytes` as one request head (tests, the fuzzer); nil if it is not one.
    package static func parsing(_ bytes: ByteBuffer, clientAddress: String?) -> GatewayRequest? {
        guard case .head(let head) = bytes.withUnsafeReadableBytes({ RequestHeadParser.parse($0) }) else { return nil }
        return GatewayRequest(bytes: bytes, head: head, clientAddress: clientAddress)
    }

    private static func absoluteFormSchemeEnd(_ target: Substring) -> Substring.Index? {
        // The usual origin form (`/path`) is told at its first byte, without a lowercased copy.
        guard let first = target.utf8.first, first != UInt8(ascii: "/") else { return nil }
        for scheme in ["http://", "https://"] where target.utf8.count > scheme.utf8.count && target.prefix(scheme.count).lowercased() == scheme {
            return target.index(target.startIndex, offsetBy: scheme.count)
        }
        return nil
    }

    /// Keeps the client's `X-Request-Id` when it is well formed, else takes one from `generator`.
    package mutating func assignRequestId(_ generator: inout RequestIDGenerator) {
        if let sent = headers.first(name: HeaderNames.requestId) {
            if RequestID.isWellFormed(sent) {
                requestId = sent
                return
            }
            dropsClientRequestId = true
        }
        requestId = generator.next()
        requestIdIsOwn = true
    }

    var headers: RequestFields { RequestFields(bytes: bytes, fields: parsed.fields) }
    var isHTTP10: Bool { parsed.version == .http10 }
    /// The host the client asked for: an absolute-form target's, else the `Host` header's.
    var authority: String? { targetAuthority.map(String.init) ?? headers.first(name: HeaderNames.host) }
}

/// A request's header fields, read in place; only the values asked for become strings.
struct RequestFields: Sendable {
    let bytes: ByteBuffer
    let fields: [RequestHead.Field]

    /// The first value of `name`, compared without regard to case.
    func first(name: String) -> String? {
        bytes.withUnsafeReadableBytes { raw in
            for field in fields where Byte.equalsName(raw[field.name], name) {
                return String(decoding: raw[field.value], as: UTF8.self)
            }
            return nil
        }
    }

    /// Every field line's value for `name`, in order.
    subscript(_ name: String) -> [String] {
        bytes.withUnsafeReadableBytes { raw in
            fields.filter { Byte.equalsName(raw[$0.name], name) }.map { String(decoding: raw[$0.value], as: UTF8.self) }
        }
    }

    /// The comma-separated items of every `name` line, trimmed, as NIO's `HTTPHeaders[canonicalForm:]` gives them.
    subscript(canonicalForm name: String) -> [Substring] {
        self[name].flatMap { value in
            value.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
