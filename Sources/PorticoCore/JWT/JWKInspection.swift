import Crypto

/// A JWK judged as a whole before any key is made from it (RFC 7517, RFC 7518 §6, RFC 8037): its type, curve,
/// declared algorithm, size and coordinates must agree. A key that does not is never reinterpreted as something
/// it almost is.
public enum JWKInspection {
    public enum Verdict: Sendable, Equatable {
        /// A key to verify signatures with, under these algorithms only (the declared `alg`, or every algorithm
        /// of its type).
        case signing(kid: String?, algorithms: [JWTAlgorithmName])
        /// A sound key that is not for verifying signatures here (`use: enc`, `key_ops` without `verify`, a
        /// symmetric key or a type or curve Portico does not verify with): left out.
        case notForSignatures(String)
        /// A key whose members contradict each other or are malformed: refused.
        case inconsistent(String)
    }

    public static let minimumRSABits = 2048
    public static let maximumRSABits = 16384

    public static func inspect(_ key: [String: JSONValue]) -> Verdict {
        do {
            return try verdict(key)
        } catch {
            return .inconsistent(error.description)
        }
    }

    private struct Problem: Error {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func verdict(_ key: [String: JSONValue]) throws(Problem) -> Verdict {
        guard let kty = try text(key, "kty") else { throw Problem("it has no kty") }
        let kid = try text(key, "kid")
        let declared = try text(key, "alg")
        if declared == "none" { throw Problem("its alg is none") }
        if let use = try text(key, "use"), use != "sig" { return .notForSignatures("its use is \(use)") }
        if let operations = key["key_ops"] {
            guard case .array(let entries) = operations, entries.allSatisfy({ $0.string != nil }) else {
                throw Problem("its key_ops is not a list of names")
            }
            guard entries.contains(.string("verify")) else { return .notForSignatures("its key_ops do not include verify") }
        }
        let algorithms: [JWTAlgorithmName]
        switch kty {
        case "RSA": algorithms = try rsa(key)
        case "EC":
            guard let curveAlgorithms = try ec(key) else { return .notForSignatures("its curve is not P-256, P-384 or P-521") }
            algorithms = curveAlgorithms
        case "OKP":
            guard try text(key, "crv") == "Ed25519" else { return .notForSignatures("its OKP curve is not Ed25519") }
            guard try coordinate(key, "x").count == 32 else { throw Problem("its x is not 32 bytes, as an Ed25519 key's is") }
            algorithms = [.eddsa]
        case "oct": return .notForSignatures("it is a symmetric key; HMAC secrets are configured as signingSecret")
        default: return .notForSignatures("its kty \(kty) is not RSA, EC or OKP")
        }
        guard let declared else { return .signing(kid: kid, algorithms: algorithms) }
        // RFC 9864's fully specified name for EdDSA over Ed25519.
        let named = declared == "Ed25519" ? JWTAlgorithmName.eddsa : JWTAlgorithmName(rawValue: declared)
        guard let named, algorithms.contains(named) else {
            throw Problem("its alg \(declared) does not fit a key of type \(kty) (\(algorithms.map(\.rawValue).joined(separator: ", ")))")
        }
        return .signing(kid: kid, algorithms: [named])
    }

    private static func rsa(_ key: [String: JSONValue]) throws(Problem) -> [JWTAlgorithmName] {
        let modulus = try coordinate(key, "n").drop(while: { $0 == 0 })
        let exponent = try coordinate(key, "e").drop(while: { $0 == 0 })
        let bits = modulus.first.map { modulus.count * 8 - $0.leadingZeroBitCount } ?? 0
        guard bits >= minimumRSABits else { throw Problem("its RSA modulus is \(bits) bits; at least \(minimumRSABits) are required") }
        guard bits <= maximumRSABits else { throw Problem("its RSA modulus is \(bits) bits; at most \(maximumRSABits) are accepted") }
        guard modulus.last.map({ $0 & 1 == 1 }) == true else { throw Problem("its RSA modulus is even") }
        guard exponent.count <= 4, let last = exponent.last, last & 1 == 1, exponent.count > 1 || last > 1 else {
            throw Problem("its RSA exponent is not an odd number from 3 to 2^32")
        }
        return [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
    }

    /// The curve's one algorithm, nil for a curve Portico does not verify with.
    private static func ec(_ key: [String: JSONValue]) throws(Problem) -> [JWTAlgorithmName]? {
        let crv = try text(key, "crv")
        let size: Int
        let algorithm: JWTAlgorithmName
        switch crv {
        case "P-256": (size, algorithm) = (32, .es256)
        case "P-384": (size, algorithm) = (48, .es384)
        case "P-521": (size, algorithm) = (66, .es512)
        case nil: throw Problem("it is an EC key without crv")
        default: return nil
        }
        let x = try coordinate(key, "x")
        let y = try coordinate(key, "y")
        guard x.count == size, y.count == size else { throw Problem("its coordinates are not \(size) bytes each, as a \(crv ?? "") key's are") }
        let point = [0x04] + x + y
        let onCurve: Bool =
            switch algorithm {
            case .es256: (try? P256.Signing.PublicKey(x963Representation: point)) != nil
            case .es384: (try? P384.Signing.PublicKey(x963Representation: point)) != nil
            default: (try? P521.Signing.PublicKey(x963Representation: point)) != nil
            }
        guard onCurve else { throw Problem("its point (x, y) is not on \(crv ?? "")") }
        return [algorithm]
    }

    private static func text(_ key: [String: JSONValue], _ name: String) throws(Problem) -> String? {
        switch key[name] {
        case nil: return nil
        case .string(let value)?: return value
        case _?: throw Problem("its \(name) is not a string")
        }
    }

    private static func coordinate(_ key: [String: JSONValue], _ name: String) throws(Problem) -> [UInt8] {
        guard let encoded = try text(key, name) else { throw Problem("it has no \(name)") }
        guard let bytes = Base64URL.decode(encoded.utf8), !bytes.isEmpty else { throw Problem("its \(name) is not base64url") }
        return bytes
    }
}
