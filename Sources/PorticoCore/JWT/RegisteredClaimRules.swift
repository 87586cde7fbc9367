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
        expiryFailure(claims, now: now) ?? notBeforeFailure(claims, now: now) ?? issuerFailure(claims) ?? audienceFailure(claims)
    }

    /// Each check of `failure` by name, for the explainer: what it found, or why it failed.
    public func explained(_ claims: [String: JSONValue], now: Double, into trace: DecisionTrace) {
        let leeway = "with \(Self.seconds(leewaySeconds)) s of leeway"
        trace.check(
            "exp", failure: expiryFailure(claims, now: now),
            passed: claims["exp"]?.scalarText.map { "\($0) is not past, \(leeway)" } ?? "no exp claim")
        trace.check(
            "nbf", failure: notBeforeFailure(claims, now: now), passed: claims["nbf"]?.scalarText.map { "\($0) is past, \(leeway)" } ?? "no nbf claim"
        )
        trace.check(
            "iss", failure: issuerFailure(claims),
            passed: issuers.isEmpty ? "any issuer is accepted" : "\(claims["iss"]?.scalarText ?? "") is trusted")
        trace.check(
            "aud", failure: audienceFailure(claims),
            passed: audiences.isEmpty
                ? "any audience is accepted" : "\((claims["aud"]?.scalarTexts ?? []).joined(separator: ", ")) includes an accepted audience")
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    private func expiryFailure(_ claims: [String: JSONValue], now: Double) -> String? {
        switch claims["exp"] {
        case nil: return nil
        case .number(let exp)? where Self.plausibleDates.contains(exp): return now > exp + leewaySeconds ? "the token has expired" : nil
        case _?: return "the token's exp claim is not a NumericDate"
        }
    }

    private func notBeforeFailure(_ claims: [String: JSONValue], now: Double) -> String? {
        switch claims["nbf"] {
        case nil: return nil
        case .number(let nbf)? where Self.plausibleDates.contains(nbf): return now + leewaySeconds < nbf ? "the token is not valid yet" : nil
        case _?: return "the token's nbf claim is not a NumericDate"
        }
    }

    private func issuerFailure(_ claims: [String: JSONValue]) -> String? {
        guard !issuers.isEmpty else { return nil }
        guard case .string(let issuer)? = claims["iss"], issuers.contains(issuer) else { return "the token's issuer is not trusted" }
        return nil
    }

    private func audienceFailure(_ claims: [String: JSONValue]) -> String? {
        guard !audiences.isEmpty else { return nil }
        let presented = claims["aud"]?.scalarTexts ?? []
        return presented.contains(where: audiences.contains) ? nil : "the token is not meant for this audience"
    }
}
