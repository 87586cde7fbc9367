import Foundation
import Logging
import PorticoCore
import Testing

@testable import PorticoGateway

/// Test vectors Portico did not write (`Tests/Fixtures/jose`, sources in its README), each run through the verifier
/// the gateway uses, built from settings the way an admin gives them: an asymmetric key as an inline `jwksFile`
/// (so its `alg`, `use` and `key_ops` count), an HMAC key as a `signingSecret`.
@Suite struct JOSEVectorTests {
    /// The cases whose result is a policy choice (the vectors' README), and Portico's.
    static let policy: [Int: (accepted: Bool, why: String)] = [
        346: (false, "the key says alg PS256 and Portico enforces a key's alg, so a PS384 token is refused"),
        350: (false, "the key says alg PS256 and Portico enforces a key's alg, so a PS384 token is refused"),
        347: (false, "the key says alg ES521, which is no registered algorithm: the whole key is refused, not read as ES512"),
        351: (false, "the key says alg ES521, which is no registered algorithm: the whole key is refused, not read as ES512"),
        367: (true, "byte-identical to the valid case 357 (an open upstream report); a correct MAC passes"),
        370: (true, "byte-identical to the valid case 357 (an open upstream report); a correct MAC passes"),
        372: (false, "its header holds a '?', which is not base64url: Portico accepts canonical base64url only"),
        373: (false, "its payload holds a '?', which is not base64url: Portico accepts canonical base64url only"),
    ]

    @Test func everyWycheproofJWSCaseGetsTheOutcomeItsLabelSays() async throws {
        let document = try JSONSerialization.jsonObject(with: try Fixture.data("wycheproof/json_web_signature_test.json")) as? [String: Any]
        let groups = try #require(document?["testGroups"] as? [[String: Any]])
        var cases = 0
        var policyCases = 0
        var accepted = 0
        for group in groups {
            let key = try #require(group["public"] ?? group["private"])
            let verifier = await VectorVerifier.make(key: key)
            for test in try #require(group["tests"] as? [[String: Any]]) {
                let id = try #require(test["tcId"] as? Int)
                let jws = try #require(test["jws"] as? String)
                let expected: Bool
                if let choice = Self.policy[id] {
                    expected = choice.accepted
                    policyCases += 1
                } else {
                    expected = test["result"] as? String == "valid"
                }
                let outcome = await verifier.accepts(jws)
                #expect(outcome.accepted == expected, "tcId \(id) (\(test["comment"] ?? "")): \(outcome.detail)")
                cases += 1
                if outcome.accepted { accepted += 1 }
            }
        }
        #expect(cases == 401)
        // 46 labelled valid, less the 6 refused by choice, plus the 2 accepted by choice.
        #expect(accepted == 42)
        #expect(policyCases == Self.policy.count)
    }

    /// RFC 7520 §4: 4.1 to 4.4 verify; 4.5's detached content is refused without its payload; 4.6 to 4.8 have no
    /// compact form (Portico reads compact tokens only).
    @Test func theRFC7520ExamplesVerifyAndDetachedContentIsRefused() async throws {
        let expectations: [(file: String, accepted: Bool)] = [
            ("4_1.rsa_v15_signature", true), ("4_2.rsa-pss_signature", true), ("4_3.ecdsa_signature", true),
            ("4_4.hmac-sha2_integrity_protection", true), ("4_5.signature_with_detached_content", false),
        ]
        for (file, accepted) in expectations {
            let example = try #require(try JSONSerialization.jsonObject(with: try Fixture.data("rfc7520/jws/\(file).json")) as? [String: Any])
            let input = try #require(example["input"] as? [String: Any])
            let compact = try #require((example["output"] as? [String: Any])?["compact"] as? String)
            let verifier = await VectorVerifier.make(key: try #require(input["key"]))
            let outcome = await verifier.accepts(compact)
            #expect(outcome.accepted == accepted, "\(file): \(outcome.detail)")
        }
        for file in ["4_6.protecting_specific_header_fields", "4_7.protecting_content_only", "4_8.multiple_signatures"] {
            let example = try #require(try JSONSerialization.jsonObject(with: try Fixture.data("rfc7520/jws/\(file).json")) as? [String: Any])
            #expect((example["output"] as? [String: Any])?["compact"] == nil, "\(file) has a compact form after all")
        }
    }

    @Test func theRFC8037Ed25519ExampleVerifiesAndATamperedOneDoesNot() async throws {
        let example = try #require(try JSONSerialization.jsonObject(with: try Fixture.data("rfc8037/curve25519_jws.json")) as? [String: Any])
        let input = try #require(example["input"] as? [String: Any])
        let compact = try #require((example["output"] as? [String: Any])?["compact"] as? String)
        let verifier = await VectorVerifier.make(key: try #require(input["key"]))
        #expect(await verifier.accepts(compact).accepted)
        let tampered = compact.replacingOccurrences(of: ".RXhh", with: ".RXhi")
        #expect(await verifier.accepts(tampered).accepted == false)
    }
}

/// The verifier for one vector group's key, or why its key was refused when the settings were compiled.
struct VectorVerifier {
    let verifier: JWTVerifier?
    let buildError: String?

    struct Outcome {
        let accepted: Bool
        let detail: String
    }

    static func make(key: Any) async -> VectorVerifier {
        let jwk = key as? [String: Any] ?? [:]
        var settings = JWTSettings()
        var secret = ""
        if jwk["kty"] as? String == "oct", let k = jwk["k"] as? String {
            secret = k
            settings.signingSecret = "env:VECTOR_SECRET"
            settings.signingSecretBase64Encoded = true
            settings.algorithms = (jwk["alg"] as? String).map { [$0] }
        } else {
            let set = jwk["keys"] != nil ? key : ["keys": [key]]
            settings.jwksFile = String(decoding: (try? JSONSerialization.data(withJSONObject: set)) ?? Data(), as: UTF8.self)
        }
        let resolver = SecretResolver(box: nil, environment: { [secret] _ in secret })
        do {
            let config = try settings.compiled()
            let verifier = try await JWTVerifierFactory(resolver: resolver, logger: Logger(label: "vectors")).make(config)
            return VectorVerifier(verifier: verifier, buildError: nil)
        } catch {
            return VectorVerifier(verifier: nil, buildError: String(describing: error))
        }
    }

    func accepts(_ token: String) async -> Outcome {
        guard let verifier else { return Outcome(accepted: false, detail: "the key was refused: \(buildError ?? "")") }
        switch await verifier.signed(token) {
        case .verified: return Outcome(accepted: true, detail: "verified")
        case .rejected(let rejection): return Outcome(accepted: false, detail: rejection.reason)
        case .unavailable(let reason): return Outcome(accepted: false, detail: "unavailable: \(reason)")
        }
    }
}

enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/jose").standardized

    static func data(_ path: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(path))
    }
}
