/// `X-Request-Id`: the id a gateway answer, its upstream request and its log line share. A client's own is kept
/// when it is well formed; otherwise the gateway makes one.
public enum RequestID {
    /// At most this many characters are kept from a client.
    public static let maxLength = 200

    /// 1 to 200 visible ASCII characters, none of which could split or quote a header value: no space, `"`,
    /// `,`, `;` or `\`.
    public static func isWellFormed(_ value: some StringProtocol) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: ",") && byte != UInt8(ascii: ";")
                && byte != UInt8(ascii: "\\")
        }
    }
}

/// Makes request ids for one client connection: a random 64-bit prefix drawn once, then the connection's request
/// count, both in hexadecimal (`9f86d081884c7d65-1`). Unique across connections and replicas with overwhelming
/// likelihood, and cheap: one random draw per connection, none per request.
public struct RequestIDGenerator: Sendable {
    private let prefix: String
    private var count: UInt64 = 0

    public init() {
        var generator = SystemRandomNumberGenerator()
        let bits = UInt64.random(in: .min ... .max, using: &generator)
        let hex = String(bits, radix: 16)
        prefix = String(repeating: "0", count: 16 - hex.count) + hex + "-"
    }

    public mutating func next() -> String {
        count &+= 1
        return prefix + String(count, radix: 16)
    }
}
