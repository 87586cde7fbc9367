import Foundation
import JWTKit
import Logging
import PorticoCore

/// Verification keys by key id and algorithm, made by jwt-kit. Looking a key up is a dictionary read: no actor,
/// no network. A key from a single-key source (secret or PEM) has no id and answers tokens with or without `kid`.
struct VerificationKeys: Sendable {
    private let byKid: [String: [JWTAlgorithmName: any JWTAlgorithm]]
    private let unkeyed: [JWTAlgorithmName: [any JWTAlgorithm]]

    static let empty = VerificationKeys(byKid: [:], unkeyed: [:])

    var isEmpty: Bool { byKid.isEmpty && unkeyed.isEmpty }
    var count: Int { byKid.count + unkeyed.values.map(\.count).reduce(0, +) }

    /// The keys that may have signed a token with this header. A token naming an unknown `kid` gets none.
    func candidates(kid: String?, algorithm: JWTAlgorithmName) -> [any JWTAlgorithm] {
        if let kid, !byKid.isEmpty {
            return byKid[kid]?[algorithm].map { [$0] } ?? []
        }
        if let fixed = unkeyed[algorithm] { return fixed }
        return byKid.values.compactMap { $0[algorithm] }
    }

    func knows(kid: String) -> Bool { byKid[kid] != nil }

    // MARK: building

    enum BuildError: Error, CustomStringConvertible {
        case unusable(String)
        var description: String {
            switch self {
            case .unusable(let reason): reason
            }
        }
    }

    /// RFC 7518 §3.2: an HMAC key at least as long as the hash output. Algorithms the secret is too short for
    /// are left out when the list is the default, and refused when it was given.
    static func hmac(secret: [UInt8], algorithms: [JWTAlgorithmName], algorithmsGiven: Bool) async throws -> VerificationKeys {
        let fitting = algorithms.filter { secret.count >= $0.minimumHMACKeyBytes }
        if let tooLong = algorithms.first(where: { !fitting.contains($0) }), algorithmsGiven || fitting.isEmpty {
            throw BuildError.unusable(
                "the signing secret is \(secret.count) bytes; \(tooLong.rawValue) needs at least \(tooLong.minimumHMACKeyBytes)")
        }
        var unkeyed: [JWTAlgorithmName: [any JWTAlgorithm]] = [:]
        for algorithm in fitting {
            let digest: DigestAlgorithm
            switch algorithm {
            case .hs256: digest = .sha256
            case .hs384: digest = .sha384
            case .hs512: digest = .sha512
            default: continue
            }
            let collection = JWTKeyCollection()
            await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
            unkeyed[algorithm] = [try await collection.getKey()]
        }
        return VerificationKeys(byKid: [:], unkeyed: unkeyed)
    }

    /// An RSA, EC (P-256/384/521) or Ed25519 public key in PEM, or an X.509 certificate holding one.
    static func publicKey(pem: String, algorithms: [JWTAlgorithmName]) async throws -> VerificationKeys {
        var unkeyed: [JWTAlgorithmName: [any JWTAlgorithm]] = [:]
        let family: String
        if let rsa = (try? Insecure.RSA.PublicKey(pem: pem)) ?? (try? Insecure.RSA.PublicKey(certificatePEM: pem)) {
            family = "an RSA key (RS256…PS512)"
            for algorithm in algorithms {
                let collection = JWTKeyCollection()
                switch algorithm {
                case .rs256: await collection.add(rsa: rsa, digestAlgorithm: .sha256)
                case .rs384: await collection.add(rsa: rsa, digestAlgorithm: .sha384)
                case .rs512: await collection.add(rsa: rsa, digestAlgorithm: .sha512)
                case .ps256: await collection.add(pss: rsa, digestAlgorithm: .sha256)
                case .ps384: await collection.add(pss: rsa, digestAlgorithm: .sha384)
                case .ps512: await collection.add(pss: rsa, digestAlgorithm: .sha512)
                default: continue
                }
                unkeyed[algorithm] = [try await collection.getKey()]
            }
        } else if let key = try? ES256PublicKey(pem: pem) {
            family = "a P-256 key (ES256)"
            if algorithms.contains(.es256) { unkeyed[.es256] = [try await single { await $0.add(ecdsa: key) }] }
        } else if let key = try? ES384PublicKey(pem: pem) {
            family = "a P-384 key (ES384)"
            if algorithms.contains(.es384) { unkeyed[.es384] = [try await single { await $0.add(ecdsa: key) }] }
        } else if let key = try? ES512PublicKey(pem: pem) {
            family = "a P-521 key (ES512)"
            if algorithms.contains(.es512) { unkeyed[.es512] = [try await single { await $0.add(ecdsa: key) }] }
        } else if let key = try? EdDSA.PublicKey(pem: pem) {
            family = "an Ed25519 key (EdDSA)"
            if algorithms.contains(.eddsa) { unkeyed[.eddsa] = [try await single { await $0.add(eddsa: key) }] }
        } else {
            throw BuildError.unusable("publicKey is not an RSA, EC or Ed25519 public key in PEM form")
        }
        guard !unkeyed.isEmpty else {
            throw BuildError.unusable(
                "the public key is \(family), but algorithms allow only \(algorithms.map(\.rawValue).joined(separator: ", "))")
        }
        return VerificationKeys(byKid: [:], unkeyed: unkeyed)
    }

    /// What becomes of a key whose members contradict each other: a set an operator configured is refused, naming
    /// the key; a set fetched from an identity provider loses that key only, with a warning in the log.
    enum InconsistentKeys {
        case refuse
        case skip(Logger)
    }

    /// A JWK set. Every key is inspected as a whole first (`JWKInspection`); keys for encryption or of a type
    /// Portico does not verify with are left out, a key's `alg` restricts it to that algorithm, and a set left with
    /// no key at all is an error.
    static func jwks(json: Data, algorithms: [JWTAlgorithmName], inconsistent: InconsistentKeys) async throws -> VerificationKeys {
        let document: JSONValue
        do { document = try StrictJSON.parse(json) } catch { throw BuildError.unusable("the JWK set is not valid JSON: \(error)") }
        guard case .object(let members) = document, case .array(let entries)? = members["keys"] else {
            throw BuildError.unusable("not a JWK set: expected a JSON object with a \"keys\" array")
        }
        var byKid: [String: [JWTAlgorithmName: any JWTAlgorithm]] = [:]
        for (index, entry) in entries.enumerated() {
            guard case .object(let fields) = entry else { continue }
            let kid: String
            let usable: [JWTAlgorithmName]
            switch JWKInspection.inspect(fields) {
            case .signing(let named, let fitting):
                kid = named ?? "#\(index)"
                usable = fitting.filter(algorithms.contains)
            case .notForSignatures:
                continue
            case .inconsistent(let reason):
                let name = fields["kid"]?.string.map { "the key '\($0)'" } ?? "key #\(index)"
                switch inconsistent {
                case .refuse: throw BuildError.unusable("\(name) of the JWK set is refused: \(reason)")
                case .skip(let logger):
                    logger.warning("a key of a fetched JWK set is skipped", metadata: ["key": "\(name)", "reason": "\(reason)"])
                    continue
                }
            }
            guard let data = try? JSONEncoder().encode(entry), var jwk = try? JSONDecoder().decode(JWK.self, from: data) else { continue }
            jwk.keyIdentifier = JWKIdentifier(string: kid)
            var keys: [JWTAlgorithmName: any JWTAlgorithm] = [:]
            for algorithm in usable {
                guard let jwkAlgorithm = JWK.Algorithm(rawValue: algorithm.rawValue) else { continue }
                jwk.algorithm = jwkAlgorithm
                let collection = JWTKeyCollection()
                guard (try? await collection.add(jwk: jwk)) != nil,
                    let key = try? await collection.getKey(for: JWKIdentifier(string: kid), alg: algorithm.rawValue)
                else { continue }
                keys[algorithm] = key
            }
            if !keys.isEmpty { byKid[kid] = keys }
        }
        guard !byKid.isEmpty else {
            throw BuildError.unusable(
                "the JWK set holds no signing key usable with \(algorithms.map(\.rawValue).joined(separator: ", "))")
        }
        return VerificationKeys(byKid: byKid, unkeyed: [:])
    }

    private static func single(_ add: (JWTKeyCollection) async -> Void) async throws -> any JWTAlgorithm {
        let collection = JWTKeyCollection()
        await add(collection)
        return try await collection.getKey()
    }
}
