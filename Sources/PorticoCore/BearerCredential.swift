/// `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive).
public struct BearerCredential: Sendable {
    public let token: Substring

    public init?(_ header: String?) {
        guard let header else { return nil }
        // Read as bytes: the gateway parses this header on every request, and counting or lowercasing
        // characters would walk grapheme clusters and allocate.
        let bytes = header.utf8
        guard bytes.count > 7 else { return nil }
        let schemeEnd = bytes.index(bytes.startIndex, offsetBy: 7)
        guard header[..<schemeEnd].equalsIgnoringASCIICase("bearer ") else { return nil }
        let token = header[schemeEnd...].drop(while: { $0 == " " })
        guard !token.isEmpty else { return nil }
        self.token = token
    }
}
