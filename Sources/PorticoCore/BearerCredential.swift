/// `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive).
public struct BearerCredential: Sendable {
    public let token: Substring

    public init?(_ header: String?) {
        guard let header, header.count > 7 else { return nil }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).drop(while: { $0 == " " })
        guard !token.isEmpty else { return nil }
        self.token = token
    }
}
