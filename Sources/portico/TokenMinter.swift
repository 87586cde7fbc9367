import Foundation
import JWTKit
import PorticoCore

/// Any claims, as a jwt-kit payload. Checks are Portico's own (`RegisteredClaimRules`), so `verify` adds none.
struct ClaimsPayload: JWTPayload, Equatable {
    var claims: [String: JSONValue]

    init(_ claims: [String: JSONValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Signs tokens with a signing secret, for `portico token sign` (APISIX's sign endpoint, as a CLI).
enum TokenMinter {
    static func sign(_ claims: [String: JSONValue], secret: [UInt8], algorithm: JWTAlgorithmName) async throws -> String {
        let digest: DigestAlgorithm
        switch algorithm {
        case .hs256: digest = .sha256
        case .hs384: digest = .sha384
        case .hs512: digest = .sha512
        default: throw PorticoError.invalid(field: "algorithm", reason: "\(algorithm.rawValue) is not an HMAC algorithm")
        }
        guard secret.count >= algorithm.minimumHMACKeyBytes else {
            throw PorticoError.invalid(
                field: "jwt.signingSecret",
                reason: "the signing secret is \(secret.count) bytes; \(algorithm.rawValue) needs at least \(algorithm.minimumHMACKeyBytes)")
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
        return try await keys.sign(ClaimsPayload(claims))
    }

    /// The claims of a token for `subject`, placed where the claims mapping reads them (a dotted path makes
    /// nested objects), with `iat`/`exp` and the first configured issuer and audience.
    static func claims(
        subject: String, groups: [String], email: String?, lifetimeSeconds: Int, extra: [(path: ClaimPath, value: JSONValue)],
        mapping: CompiledClaimsMapping, rules: RegisteredClaimRules, now: Date = Date()
    ) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [:]
        let issuedAt = now.timeIntervalSince1970.rounded(.down)
        claims["iat"] = .number(issuedAt)
        claims["exp"] = .number(issuedAt + Double(lifetimeSeconds))
        if let issuer = rules.issuers.first { claims["iss"] = .string(issuer) }
        if let audience = rules.audiences.first { claims["aud"] = .string(audience) }
        set(.string(subject), at: mapping.userId, in: &claims)
        set(.array(groups.map(JSONValue.string)), at: mapping.groups, in: &claims)
        if let email, let path = mapping.email { set(.string(email), at: path, in: &claims) }
        for (path, value) in extra { set(value, at: path, in: &claims) }
        return claims
    }

    static func set(_ value: JSONValue, at path: ClaimPath, in claims: inout [String: JSONValue]) {
        func assign(_ segments: ArraySlice<String>, _ object: inout [String: JSONValue]) {
            guard let first = segments.first else { return }
            if segments.count == 1 {
                object[first] = value
                return
            }
            var nested: [String: JSONValue] = if case .object(let existing)? = object[first] { existing } else { [:] }
            assign(segments.dropFirst(), &nested)
            object[first] = .object(nested)
        }
        assign(path.segments[...], &claims)
    }
}
