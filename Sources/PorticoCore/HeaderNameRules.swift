import Foundation

/// Which header names the gateway passes on, and which a token's claims may set: one list, read both by the
/// proxy (what it drops) and by the settings check (what `forwardHeaders` may not name).
public enum HeaderNameRules {
    /// Never forwarded, in either direction. Lowercase. Each describes one connection, not the message
    /// (RFC 9110 §7.6.1), except `host`, which the gateway replaces with the upstream's own.
    public static let hopByHop = [
        "connection",  // lists this connection's options and further hop-by-hop names (RFC 9110 §7.6.1)
        "keep-alive",  // HTTP/1.0 persistence parameters of this connection (RFC 9112 appendix C.2.2)
        "proxy-connection",  // a non-standard `Connection` that old clients still send
        "proxy-authenticate",  // a challenge from a proxy to its client, not the origin's (RFC 9110 §11.7.1)
        "proxy-authorization",  // the client's credentials for a proxy; never passed on (RFC 9110 §11.7.2)
        "te",  // transfer codings this connection accepts (RFC 9110 §10.1.4)
        "trailer",  // fields after this connection's chunked body (RFC 9110 §6.6.2)
        "transfer-encoding",  // framing of this connection; the gateway frames each side itself (RFC 9112 §6.1)
        "upgrade",  // a protocol switch of this connection (RFC 9110 §7.8)
        "host",  // the client's name for the gateway; the upstream gets its own (RFC 9110 §7.2)
    ]

    /// Names a claim may not set through `forwardHeaders`: every name the proxy drops, and the ones that carry
    /// credentials or framing, which a token must not be able to rewrite on its way upstream.
    public static let reserved: Set<String> = Set(hopByHop).union(["authorization", "cookie", "content-length"])

    /// Whether `name` is one of `hopByHop`, compared without regard to case and without a copy.
    public static func isHopByHop(_ name: some StringProtocol) -> Bool {
        hopByHop.contains { name.equalsIgnoringASCIICase($0) }
    }

    /// Whether `name` is an RFC 9110 field name (a `token`).
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isTokenByte)
    }

    /// `tchar` (RFC 9110 §5.6.2): the bytes of methods, field names and transfer-coding names.
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
