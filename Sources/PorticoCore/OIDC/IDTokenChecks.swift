/// What OpenID Connect Core §3.1.3.7 asks of an ID token beyond its signature, `iss`, `aud` and `exp`, which the
/// token verifier checks: `sub`, `exp` and `iat` present, `azp` naming this client when it is there (and required
/// when the token has several audiences), the `nonce` of this sign-in, and no `iat` from the future.
public struct IDTokenChecks: Sendable {
    public let clientId: String
    public let nonce: String
    public let leewaySeconds: Double

    public init(clientId: String, nonce: String, leewaySeconds: Double) {
        self.clientId = clientId
        self.nonce = nonce
        self.leewaySeconds = leewaySeconds
    }

    /// nil when the claims pass, otherwise the reason. `now` is seconds since 1970.
    public func failure(in claims: [String: JSONValue], now: Double) -> String? {
        guard case .string(let subject)? = claims["sub"], !subject.isEmpty else { return "the ID token has no sub claim" }
        guard case .number? = claims["exp"] else { return "the ID token has no exp claim" }
        guard case .number(let issuedAt)? = claims["iat"] else { return "the ID token has no iat claim" }
        if issuedAt > now + leewaySeconds + 60 { return "the ID token's iat is in the future" }
        let audiences = claims["aud"]?.scalarTexts ?? []
        guard audiences.contains(clientId) else { return "the ID token is not meant for this client" }
        switch claims["azp"] {
        case nil:
            if audiences.count > 1 { return "the ID token has several audiences and no azp claim" }
        case .string(let party)?:
            if party != clientId { return "the ID token's azp is another client" }
        case _?:
            return "the ID token's azp claim is not a string"
        }
        guard case .string(let presented)? = claims["nonce"], presented == nonce else { return "the ID token's nonce does not match this sign-in" }
        return nil
    }
}
