import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import Testing

/// Hostile tokens, each presented to the gateway with the status it must get. Every case names itself in the
/// expectation, so a failure says which attack got through.
@Suite struct AttackCorpusTests {
    struct Case {
        let name: String
        let token: String
        let status: Int
    }

    let secret = Array("an HMAC secret of thirty-two bytes or more".utf8)
    var future: Int { Int(Date().timeIntervalSince1970) + 600 }
    var claimsJSON: String { #"{"sub":"user-1","groups":["buyers"],"exp":\#(future)}"# }

    func hs256(_ header: String, _ payload: String) -> String {
        RawJWS.hs256(header: Array(header.utf8), payload: Array(payload.utf8), secret: secret)
    }

    func check(_ cases: [Case], on gateway: GatewayHandle) async throws {
        for attack in cases {
            let response = try await gateway.get("/orders", token: attack.token)
            #expect(response.status == attack.status, "\(attack.name): \(response.errorDescription ?? response.text)")
        }
    }

    @Test func hmacTokensThatParsersCouldReadTwoWaysAreRefused() async throws {
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let good = hs256(header, claimsJSON)
        let parts = good.split(separator: ".").map(String.init)
        let deepClaims =
            #"{"sub":"user-1","groups":["buyers"],"exp":\#(future),"deep":"#
            + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        let invalidUTF8: [UInt8] = Array(#"{"sub":"user-"#.utf8) + [0xFF, 0xFE] + Array(#"","groups":["buyers"],"exp":\#(future)}"#.utf8)
        var cases: [Case] = [
            Case(name: "the good token itself", token: good, status: 200),
            Case(name: "duplicate alg in the header", token: hs256(#"{"alg":"HS256","alg":"none"}"#, claimsJSON), status: 401),
            Case(
                name: "duplicate sub in the claims",
                token: hs256(header, #"{"sub":"user-1","sub":"admin","groups":["buyers"],"exp":\#(future)}"#), status: 401),
            Case(
                name: "duplicate groups written with an escape", token: hs256(header, #"{"sub":"u","groups":["x"],"gr\u006fups":["buyers"]}"#),
                status: 401),
            Case(name: "10 000-deep nested claims", token: hs256(header, deepClaims), status: 401),
            Case(
                name: "invalid UTF-8 in the claims", token: RawJWS.hs256(header: Array(header.utf8), payload: invalidUTF8, secret: secret),
                status: 401),
            Case(
                name: "invalid UTF-8 in the header",
                token: RawJWS.hs256(
                    header: Array(#"{"alg":"HS256","x":""#.utf8) + [0xC0, 0x80] + Array(#""}"#.utf8), payload: Array(claimsJSON.utf8), secret: secret),
                status: 401),
            Case(name: "padding on the signature", token: good + "=", status: 401),
            Case(name: "padding on the payload", token: parts[0] + "." + parts[1] + "==." + parts[2], status: 401),
            Case(name: "crit naming exp", token: hs256(#"{"alg":"HS256","crit":["exp"],"exp":1}"#, claimsJSON), status: 401),
            Case(name: "crit naming b64", token: hs256(#"{"alg":"HS256","crit":["b64"],"b64":false}"#, claimsJSON), status: 401),
            Case(name: "an empty crit", token: hs256(#"{"alg":"HS256","crit":[]}"#, claimsJSON), status: 401),
            Case(name: "exp as a string", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":"\#(future)"}"#), status: 401),
            Case(name: "exp as a fraction in the future", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":\#(future).5}"#), status: 200),
            Case(name: "exp as 1e300", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":1e300}"#), status: 401),
            Case(name: "exp beyond a double", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":1e400}"#), status: 401),
            Case(name: "exp as a huge integer", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":99999999999999999999999}"#), status: 401),
            Case(name: "exp negative", token: hs256(header, #"{"sub":"u","groups":["buyers"],"exp":-1}"#), status: 401),
            Case(name: "nbf as a string", token: hs256(header, #"{"sub":"u","groups":["buyers"],"nbf":"0"}"#), status: 401),
            Case(name: "nbf as a fraction in the past", token: hs256(header, #"{"sub":"u","groups":["buyers"],"nbf":1.5}"#), status: 200),
            Case(name: "nbf as a huge number", token: hs256(header, #"{"sub":"u","groups":["buyers"],"nbf":1e30}"#), status: 401),
        ]
        for (from, to) in [("-", "+"), ("_", "/")] where parts[2].contains(from) {
            cases.append(
                Case(
                    name: "the signature in standard base64 (\(to))",
                    token: parts[0] + "." + parts[1] + "." + parts[2].replacingOccurrences(of: from, with: to), status: 401))
        }
        for alg in ["none", "None", "NONE", "nOnE", "noNe"] {
            let unsigned = Base64URL.encode(Array(#"{"alg":"\#(alg)"}"#.utf8)) + "." + Base64URL.encode(Array(claimsJSON.utf8))
            cases.append(Case(name: "alg \(alg) without a signature", token: unsigned + ".", status: 401))
            cases.append(Case(name: "alg \(alg) with the HMAC's signature", token: unsigned + "." + parts[2], status: 401))
        }
        try await withJWTGateway(["signingSecret": String(decoding: secret, as: UTF8.self), "algorithms": ["HS256"]]) { gateway, _ in
            try await check(cases, on: gateway)
        }
    }

    @Test func aHugeTokenIsRefusedBeforeItIsParsed() async throws {
        let padding = String(repeating: "x", count: 100 * 1024)
        let huge = hs256(#"{"alg":"HS256"}"#, #"{"sub":"u","groups":["buyers"],"pad":"\#(padding)"}"#)
        try await withJWTGateway(["signingSecret": String(decoding: secret, as: UTF8.self), "algorithms": ["HS256"]]) { gateway, _ in
            let response = try await gateway.get("/orders", token: huge)
            #expect(response.status == 431)
            #expect(try response.json()["error"] as? String == "headers_too_large")
            #expect(try await gateway.get("/orders", token: hs256(#"{"alg":"HS256"}"#, claimsJSON)).status == 200, "the gateway serves on")
        }
    }

    @Test func ecdsaKeysRefuseConfusionPsychicSignaturesAndKidTricks() async throws {
        let key = RawP256Key()
        let attacker = RawP256Key()
        let header = #"{"alg":"ES256","kid":"ec"}"#
        let n = RawP256Key.order
        let zero = [UInt8](repeating: 0, count: 32)
        let one = [UInt8](repeating: 0, count: 31) + [1]
        let jwkJSON = TestJWKS.json([key.jwk(kid: "ec")])
        var cases: [Case] = [
            Case(name: "the good token itself", token: try key.token(header: header, payload: claimsJSON), status: 200),
            Case(name: "r = 0, s = 0", token: try key.token(header: header, payload: claimsJSON, signature: zero + zero), status: 401),
            Case(name: "r = 0", token: try key.token(header: header, payload: claimsJSON, signature: zero + one), status: 401),
            Case(name: "s = 0", token: try key.token(header: header, payload: claimsJSON, signature: one + zero), status: 401),
            Case(name: "r = n, s = n", token: try key.token(header: header, payload: claimsJSON, signature: n + n), status: 401),
            Case(name: "r = n", token: try key.token(header: header, payload: claimsJSON, signature: n + one), status: 401),
            Case(name: "s = n", token: try key.token(header: header, payload: claimsJSON, signature: one + n), status: 401),
            Case(
                name: "r, s = 0xFF…", token: try key.token(header: header, payload: claimsJSON, signature: [UInt8](repeating: 0xFF, count: 64)),
                status: 401),
            Case(name: "an empty signature", token: try key.token(header: header, payload: claimsJSON, signature: []), status: 401),
            Case(
                name: "a DER signature",
                token: try key.token(header: header, payload: claimsJSON, signature: Array(key.key.signature(for: Data("x".utf8)).derRepresentation)),
                status: 401),
            Case(name: "another key's signature under the known kid", token: try attacker.token(header: header, payload: claimsJSON), status: 401),
            Case(
                name: "HS256 with the public point as secret",
                token: RawJWS.hs256(header: Array(#"{"alg":"HS256","kid":"ec"}"#.utf8), payload: Array(claimsJSON.utf8), secret: key.publicPoint),
                status: 401),
            Case(
                name: "HS256 with the PEM as secret",
                token: RawJWS.hs256(
                    header: Array(#"{"alg":"HS256","kid":"ec"}"#.utf8), payload: Array(claimsJSON.utf8), secret: Array(key.publicPEM.utf8)),
                status: 401),
            Case(
                name: "HS256 with the JWK set as secret",
                token: RawJWS.hs256(header: Array(#"{"alg":"HS256","kid":"ec"}"#.utf8), payload: Array(claimsJSON.utf8), secret: Array(jwkJSON.utf8)),
                status: 401),
        ]
        for kid in ["../../../../etc/passwd", "' OR '1'='1' --", "ec\r\nX-Injected: yes", "ec\u{0}", "/dev/null", "ec' ; DROP TABLE users; --"] {
            let escaped = String(decoding: try JSONEncoder().encode(kid), as: UTF8.self)
            cases.append(
                Case(
                    name: "kid \(kid.debugDescription)", token: try key.token(header: #"{"alg":"ES256","kid":\#(escaped)}"#, payload: claimsJSON),
                    status: 401))
        }
        let attackerJWK = attacker.jwk(kid: "ec").map { #""\#($0.key)":"\#($0.value)""# }.joined(separator: ",")
        let withEmbedded: [(String, String)] = [
            ("jwk", #"{"alg":"ES256","jwk":{\#(attackerJWK)}}"#),
            ("jku", #"{"alg":"ES256","kid":"evil","jku":"http://127.0.0.1:9/jwks"}"#),
            ("x5u", #"{"alg":"ES256","x5u":"http://127.0.0.1:9/cert"}"#),
            ("x5c", #"{"alg":"ES256","x5c":["MIIBszCCAVmgAwIBAgIUB"]}"#),
        ]
        for (member, embedded) in withEmbedded {
            cases.append(Case(name: "an attacker's key in \(member)", token: try attacker.token(header: embedded, payload: claimsJSON), status: 401))
        }
        // Embedded key members are ignored, not refused: the trusted key's token carrying one still passes.
        cases.append(
            Case(
                name: "the trusted key's token with an embedded jwk",
                token: try key.token(header: #"{"alg":"ES256","kid":"ec","jwk":{\#(attackerJWK)}}"#, payload: claimsJSON), status: 200))
        try await withJWTGateway(["jwksFile": jwkJSON]) { gateway, _ in
            try await check(cases, on: gateway)
        }
    }

    @Test func rsaKeysRefuseHMACConfusion() async throws {
        let rsa = TestKeys.rsa
        let confused = [
            ("the PEM", Array(rsa.publicPEM.utf8)),
            ("the PEM without its last newline", Array(rsa.publicPEM.trimmingCharacters(in: .newlines).utf8)),
            ("the JWK", Array(TestJWKS.json([rsa.jwk(kid: "r")]).utf8)),
        ]
        let cases =
            try await [Case(name: "the good token itself", token: rsa.sign(testClaims()), status: 200)]
            + confused.flatMap { name, secret in
                ["HS256", "HS384", "HS512"].map { alg in
                    Case(
                        name: "\(alg) with \(name) as secret",
                        token: handMadeToken(header: #"{"alg":"\#(alg)"}"#, payload: claimsJSON, hmacSecret: secret), status: 401)
                }
            }
        try await withJWTGateway(["publicKey": rsa.publicPEM]) { gateway, _ in
            try await check(cases, on: gateway)
        }
    }
}

/// A JWK is judged as a whole when it is loaded: a configured set with an inconsistent key is refused when saved,
/// naming the key; a fetched set loses only that key, with a warning.
@Suite struct JWKConsistencyTests {
    static func offCurve(_ key: RawP256Key, kid: String) -> [String: String] {
        var jwk = key.jwk(kid: kid)
        var y = Base64URL.decode(Array((jwk["y"] ?? "").utf8)) ?? []
        y[31] ^= 1
        jwk["y"] = Base64URL.encode(y)
        return jwk
    }

    @Test func aConfiguredSetWithAnInconsistentKeyIsRefusedWhenSaved() async throws {
        let good = RawP256Key()
        var mislabelled = RawP256Key().jwk(kid: "labelled-es384")
        mislabelled["alg"] = "ES384"
        try await withTestPortico { portico in
            for (bad, reason) in [(Self.offCurve(RawP256Key(), kid: "off"), "is not on P-256"), (mislabelled, "does not fit")] {
                do {
                    try await portico.useJWT(["jwksFile": TestJWKS.json([good.jwk(kid: "good"), bad])])
                    Issue.record("a set with an inconsistent key was saved")
                } catch let error as PorticoError {
                    guard case .invalid(let field, let message) = error else {
                        Issue.record("\(error)")
                        continue
                    }
                    #expect(field == "jwt.jwksFile")
                    #expect(message.contains("'\(bad["kid"] ?? "")'") && message.contains(reason), "\(message)")
                }
            }
        }
    }

    @Test func aFetchedSetLosesOnlyItsInconsistentKeyWithAWarning() async throws {
        let good = RawP256Key()
        let bad = RawP256Key()
        let server = JWKSServer(keys: [good.jwk(kid: "good"), Self.offCurve(bad, kid: "bad")])
        let logs = LogRecorder()
        try await withJWKSServer(server) { url in
            var settings = JWTSettings()
            settings.jwksUrl = "\(url)/jwks"
            let verifier = try await JWTVerifierFactory(resolver: SecretResolver(box: nil), logger: logs.logger()).make(settings.compiled())
            let claims = #"{"sub":"u"}"#
            let now = Date().timeIntervalSince1970
            guard case .verified = await verifier.verify(try good.token(header: #"{"alg":"ES256","kid":"good"}"#, payload: claims), now: now) else {
                Issue.record("the good key of the set was lost")
                return
            }
            guard case .rejected = await verifier.verify(try bad.token(header: #"{"alg":"ES256","kid":"bad"}"#, payload: claims), now: now) else {
                Issue.record("a token of the off-curve key was not refused")
                return
            }
            #expect(logs.metadata("key", of: "a key of a fetched JWK set is skipped").contains("the key 'bad'"))
        }
    }
}
