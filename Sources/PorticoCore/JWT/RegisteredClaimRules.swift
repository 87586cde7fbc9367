/// The registered-claim checks made after the signature is verified: `exp` and `nbf` with leeway, `iss` and `aud`.
public struct RegisteredClaimRules: Sendable, Hashable {
    public let issuers: [String]
    public let audiences: [String]
    public let leewaySeconds: Double

    public init(issuers: [String], audiences: [String], leewaySeconds: Double) {
        self.issuers = issuers
        self.audiences = audiences
        self.leewaySeconds = leewaySeconds
    }

    /// NumericDates (RFC 7519 §2) from 1970 to the end of year 9999; fractions are allowed. A date beyond is no
    /// date a real issuer writes, and would make a token that never expires.
    static let plausibleDates: ClosedRange<Double> = 0...253_402_300_799

    /// nil when the claims pass, otherwise the reason to give the caller. `now` is seconds since 1970.
    public func failure(in claims: [String: JSONValue], now: Double) -> String? {
        switch claims["exp"] {
        case nil: break
        case .number(let exp)? where Self.plausibleDates.contains(exp): if now > exp + leewaySeconds { return "the token has expired" }
        case _?: return "the token's exp claim is not a NumericDate"
        }
        switch claims["nbf"] {
        case nil: break
        case .number(let nbf)? where Self.plausibleDates.contains(nbf): if now + leewaySeconds < nbf { return "the token is not valid yet" }
        case _?: return "the token's nbf claim is not a NumericDate"
        }
        if !issuers.isEmpty {
            guard case .string(let issuer)? = claims["iss"], issuers.contains(issuer) else { return "the token's issuer is not trusted" }
        }
        if !audiences.isEmpty {
            let presented = claims["aud"]?.scalarTexts ?? []
            guard presented.contains(where: audiences.contains) else { return "the token is not meant for this audience" }
        }
        return nil
    }
}
