import Crypto
import CryptoExtras
import Foundation
import JWTKit
import PorticoCore

/// Signing keys made fresh for a test run, with their public halves as PEM and as JWKs, and a signer that can
/// also put arbitrary header fields in (for attack tokens).
public struct TestSigningKey: Sendable {
    public let algorithm: String
    public let publicPEM: String
    /// The public key as a JWK (without `kid`/`alg`; `jwk(kid:)` adds them).
    let publicJWK: [String: String]
    private let add: @Sendable (JWTKeyCollection) async -> Void

    public func jwk(kid: String, declareAlgorithm: Bool = true) -> [String: String] {
        var jwk = publicJWK
        jwk["kid"] = kid
        if declareAlgorithm { jwk["alg"] = algorithm }
        jwk["use"] = "sig"
        return jwk
    }

    public func sign(_ claims: [String: JSONValue], kid: String? = nil, header: [String: JWTHeaderField] = [:]) async throws -> String {
        let keys = JWTKeyCollection()
        await add(keys)
        var fields = header
        fields["typ"] = .string("JWT")
        return try await keys.sign(AnyClaims(claims), kid: kid.map { JWKIdentifier(string: $0) }, header: JWTHeader(fields: fields))
    }

    public static func rsa(_ algorithm: String = "RS256") throws -> TestSigningKey {
        let backing = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = try Insecure.RSA.PrivateKey(backing: backing)
        let primitives = try backing.publicKey.getKeyPrimitives()
        let digest: DigestAlgorithm = algorithm.hasSuffix("384") ? .sha384 : algorithm.hasSuffix("512") ? .sha512 : .sha256
        let pss = algorithm.hasPrefix("PS")
        return TestSigningKey(
            algorithm: algorithm, publicPEM: backing.publicKey.pemRepresentation,
            publicJWK: ["kty": "RSA", "n": Base64URL.encode(primitives.modulus), "e": Base64URL.encode(primitives.publicExponent)],
            add: { keys in
                if pss { await keys.add(pss: key, digestAlgorithm: digest) } else { await keys.add(rsa: key, digestAlgorithm: digest) }
            })
    }

    public static func es256() throws -> TestSigningKey {
        let key = ES256PrivateKey()
        return ecdsa(key, algorithm: "ES256", curve: "P-256", pem: key.publicKey.pemRepresentation, parameters: key.parameters)
    }

    public static func es384() throws -> TestSigningKey {
        let key = ES384PrivateKey()
        return ecdsa(key, algorithm: "ES384", curve: "P-384", pem: key.publicKey.pemRepresentation, parameters: key.parameters)
    }

    private static func ecdsa(
        _ key: some ECDSAKey, algorithm: String, curve: String, pem: String, parameters: ECDSAParameters?
    ) -> TestSigningKey {
        TestSigningKey(
            algorithm: algorithm, publicPEM: pem,
            publicJWK: ["kty": "EC", "crv": curve, "x": parameters?.x ?? "", "y": parameters?.y ?? ""],
            add: { await $0.add(ecdsa: key) })
    }

    public static func ed25519() throws -> TestSigningKey {
        let key = try EdDSA.PrivateKey(curve: .ed25519)
        return TestSigningKey(
            algorithm: "EdDSA", publicPEM: key.publicKey.pemRepresentation,
            publicJWK: ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(key.publicKey.rawRepresentation)],
            add: { await $0.add(eddsa: key) })
    }

    public static func hmac(_ secret: String, algorithm: String = "HS256") -> TestSigningKey {
        let digest: DigestAlgorithm = algorithm == "HS384" ? .sha384 : algorithm == "HS512" ? .sha512 : .sha256
        return TestSigningKey(
            algorithm: algorithm, publicPEM: "", publicJWK: [:],
            add: { await $0.add(hmac: HMACKey(from: secret), digestAlgorithm: digest) })
    }
}

public enum TestJWKS {
    public static func json(_ keys: [[String: String]]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["keys": keys], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Claims for a test token: `sub`, `groups`, and `exp` an hour ahead unless given.
public func testClaims(sub: String = "user-1", groups: [String]? = ["buyers"], extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
    var claims: [String: JSONValue] = ["sub": .string(sub), "exp": .number(Date().timeIntervalSince1970.rounded() + 3600)]
    if let groups { claims["groups"] = .array(groups.map(JSONValue.string)) }
    for (key, value) in extra { claims[key] = value }
    return claims
}

/// A token signed with an HMAC over any header and payload text, for attack tokens no library would make.
public func handMadeToken(header: String, payload: String, hmacSecret: [UInt8]?) -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
    guard let hmacSecret else { return input + "." }
    let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: hmacSecret))
    return input + "." + Base64URL.encode(Array(mac))
}

/// Any claims as a jwt-kit payload, so tests can sign exactly the claims they mean, valid or not.
struct AnyClaims: JWTPayload {
    let claims: [String: JSONValue]

    init(_ claims: [String: JSONValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws { claims = try decoder.singleValueContainer().decode([String: JSONValue].self) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Tokens made byte by byte, for inputs no JWT library would write: invalid UTF-8, duplicate names, hand-made
/// signatures.
public enum RawJWS {
    public static func input(header: [UInt8], payload: [UInt8]) -> String {
        Base64URL.encode(header) + "." + Base64URL.encode(payload)
    }

    public static func hs256(header: [UInt8], payload: [UInt8], secret: [UInt8]) -> String {
        let input = input(header: header, payload: payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + Base64URL.encode(Array(mac))
    }
}

/// A P-256 key whose signatures a test can make, or replace with any r and s it likes.
public struct RawP256Key: Sendable {
    public let key = P256.Signing.PrivateKey()

    public init() {}

    public func jwk(kid: String) -> [String: String] {
        let raw = Array(key.publicKey.rawRepresentation)
        return [
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig", "x": Base64URL.encode(raw[..<32]),
            "y": Base64URL.encode(raw[32...]),
        ]
    }

    public var publicPEM: String { key.publicKey.pemRepresentation }
    /// The public key's uncompressed point, as an attacker would paste it into an HMAC secret.
    public var publicPoint: [UInt8] { Array(key.publicKey.x963Representation) }

    /// A compact ES256 token: `signature` given as r ‖ s (64 bytes), or a real one when nil.
    public func token(header: String, payload: String, signature: [UInt8]? = nil) throws -> String {
        let input = RawJWS.input(header: Array(header.utf8), payload: Array(payload.utf8))
        let bytes = try signature ?? Array(key.signature(for: Data(input.utf8)).rawRepresentation)
        return input + "." + Base64URL.encode(bytes)
    }

    /// The order n of P-256's group, big-endian.
    public static let order: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]
}
