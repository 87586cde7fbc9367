import Crypto
import Foundation
import PorticoCore
import Testing

/// The parsers a token goes through before any key is used, and the whole-key check a JWK goes through before it
/// is used: each refuses what another parser could read differently.
@Suite struct StrictJOSEParsingTests {
    @Test(arguments: [
        ("{\"a\":1,\"a\":2}", "appears twice"),
        ("{\"a\":1,\"\\u0061\":2}", "appears twice"),
        ("{\"a\":{\"b\":1,\"b\":1}}", "appears twice"),
        ("{\"a\":1}x", "after the value"),
        ("{\"a\":1e400}", "too large"),
        ("{\"a\":01}", "','"),
        ("{\"a\":\"\\ud800\"}", "surrogate"),
        ("{\"a\":\"\\x\"}", "invalid escape"),
        ("{\"a\":\"line\nbreak\"}", "control character"),
        ("{'a':1}", "member name"),
        ("[1,]", "unexpected character"),
    ])
    func jsonThatParsersReadDifferentlyIsRefused(text: String, reason: String) {
        #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(Array(text.utf8)) }
        do {
            _ = try StrictJSON.parse(Array(text.utf8))
        } catch {
            #expect(error.description.contains(reason), "\(text): \(error)")
        }
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = Array("{\"a\":\"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(bytes) }
    }

    @Test func nestingIsBoundedWithoutExhaustingTheStack() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: StrictJSON.Failure.self) { try StrictJSON.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? StrictJSON.parse(Array(fine.utf8))) != nil)
    }

    @Test func whatFoundationReadsItReadsTheSame() throws {
        let text = #"{"s":"é \"q\" \u00e9 \ud83d\ude00 \/","n":-12.5e2,"i":9007199254740991,"b":[true,false,null],"o":{"x":{}}}"#
        let strict = try StrictJSON.parse(Array(text.utf8))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(strict == foundation)
    }

    @Test func base64URLMustBeCanonical() {
        #expect(Base64URL.decode(Array("Zm9v".utf8)) == Array("foo".utf8))
        #expect(Base64URL.decode(Array("Zm8".utf8)) == Array("fo".utf8))
        #expect(Base64URL.decode(Array("Zm9=".utf8)) == nil, "padding")
        #expect(Base64URL.decode(Array("Zm+v".utf8)) == nil, "the standard alphabet's +")
        #expect(Base64URL.decode(Array("Zm/v".utf8)) == nil, "the standard alphabet's /")
        #expect(Base64URL.decode(Array("Zm9".utf8)) == nil, "unused bits set")
        #expect(Base64URL.decode(Array("Z".utf8)) == nil, "a length no bytes have")
        #expect(Base64URL.decode(Array("Zm 9v".utf8)) == nil, "a space")
        for length in 0..<40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
    }

    @Test func aTokenWithDuplicateHeaderOrClaimNamesIsMalformed() throws {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","alg":"none"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"sub":"a","sub":"admin"}"#.utf8))
        #expect(throws: TokenRejection.self) { try CompactJWS("\(header).\(payload).c2ln") }
        let goodHeader = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let jws = try CompactJWS("\(goodHeader).\(payload).c2ln")
        #expect(throws: TokenRejection.self) { try jws.claims() }
    }

    @Test func critMustBeANonEmptyListOfNames() throws {
        for crit in [#""exp""#, "[]", "[1]"] {
            let header = Base64URL.encode(Array(#"{"alg":"HS256","crit":\#(crit)}"#.utf8))
            #expect(throws: TokenRejection.self, "crit \(crit)") { try CompactJWS("\(header).e30.c2ln") }
        }
        let header = Base64URL.encode(Array(#"{"alg":"HS256","crit":["exp"]}"#.utf8))
        #expect(try CompactJWS("\(header).e30.c2ln").header.crit == ["exp"])
    }

    // MARK: JWKs as a whole

    static let p256 = P256.Signing.PrivateKey().publicKey
    static var ecKey: [String: JSONValue] {
        let raw = Array(p256.rawRepresentation)
        return [
            "kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(raw[..<32])), "y": .string(Base64URL.encode(raw[32...])),
        ]
    }

    @Test func aSoundECKeyIsForItsCurvesAlgorithmOnly() {
        #expect(JWKInspection.inspect(Self.ecKey) == .signing(kid: nil, algorithms: [.es256]))
        var declared = Self.ecKey
        declared["alg"] = "ES256"
        declared["kid"] = "k1"
        #expect(JWKInspection.inspect(declared) == .signing(kid: "k1", algorithms: [.es256]))
    }

    @Test(arguments: [
        ("alg", JSONValue.string("ES384"), "does not fit"),
        ("alg", .string("ES521"), "does not fit"),
        ("alg", .string("RS256"), "does not fit"),
        ("alg", .string("none"), "alg is none"),
        ("crv", .string("P-384"), "not 48 bytes"),
        ("x", .string("AAAA"), "not 32 bytes"),
        ("x", .string("not base64!"), "not base64url"),
        ("kid", .number(7), "kid is not a string"),
        ("key_ops", .string("verify"), "not a list"),
    ])
    func anInconsistentECKeyIsRefused(member: String, value: JSONValue, reason: String) {
        var key = Self.ecKey
        key[member] = value
        guard case .inconsistent(let found) = JWKInspection.inspect(key) else {
            Issue.record("\(member) = \(value) was accepted")
            return
        }
        #expect(found.contains(reason), "\(found)")
    }

    @Test func aPointOffTheCurveIsRefused() {
        var key = Self.ecKey
        var y = Base64URL.decode(Array((key["y"]?.string ?? "").utf8)) ?? []
        y[31] ^= 1
        key["y"] = .string(Base64URL.encode(y))
        #expect(JWKInspection.inspect(key) == .inconsistent("its point (x, y) is not on P-256"))
    }

    @Test func keysNotForSignaturesAreLeftOutNotRefused() {
        var encryption = Self.ecKey
        encryption["use"] = "enc"
        var wrapping = Self.ecKey
        wrapping["key_ops"] = ["encrypt", "wrapKey"]
        for key in [
            encryption, wrapping, ["kty": "oct", "k": "AAAA"], ["kty": "OKP", "crv": "X25519", "x": "AAAA"], ["kty": "EC", "crv": "secp256k1"],
        ] {
            guard case .notForSignatures = JWKInspection.inspect(key) else {
                Issue.record("\(key) was not left out")
                continue
            }
        }
    }

    @Test func rsaKeysOfTooFewBitsOrABadExponentAreRefused() {
        let modulus = [UInt8](repeating: 0xFF, count: 256)
        let sound: [String: JSONValue] = ["kty": "RSA", "n": .string(Base64URL.encode(modulus)), "e": "AQAB"]
        #expect(JWKInspection.inspect(sound) == .signing(kid: nil, algorithms: [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]))
        var short = sound
        short["n"] = .string(Base64URL.encode([0x00] + modulus.dropFirst(129)))
        #expect(JWKInspection.inspect(short) == .inconsistent("its RSA modulus is 1016 bits; at least 2048 are required"))
        var evenExponent = sound
        evenExponent["e"] = "AQAA"
        guard case .inconsistent = JWKInspection.inspect(evenExponent) else {
            Issue.record("an even exponent was accepted")
            return
        }
        var psOnly = sound
        psOnly["alg"] = "PS256"
        #expect(JWKInspection.inspect(psOnly) == .signing(kid: nil, algorithms: [.ps256]))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
