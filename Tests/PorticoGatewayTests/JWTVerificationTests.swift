import Foundation
import JWTKit
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

private let secret = String(repeating: "a shared secret for these tests ", count: 2)
private let issuer = "https://idp.example/realms/demo"

/// Every claim check and failure reason, and the attack tokens.
@Suite struct JWTVerificationTests {
    private var settings: [String: Any] {
        ["signingSecret": secret, "issuer": issuer, "audiences": ["orders-api"], "leewaySeconds": 5, "algorithms": ["HS256"]]
    }

    private func valid(_ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims = testClaims(extra: ["iss": .string(issuer), "aud": .string("orders-api")])
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    @Test func aTokenSeenBeforeIsStillRefusedOnceItExpires() async throws {
        let key = TestSigningKey.hmac(secret)
        var strict = settings
        strict["leewaySeconds"] = 0
        try await withJWTGateway(strict) { gateway, _ in
            let expiresAt = (Date().timeIntervalSince1970 + 2).rounded(.up)
            let token = try await key.sign(valid(["exp": .number(expiresAt)]))
            // Verified once, then answered from the memory of verified tokens.
            for _ in 0..<3 {
                let response = try await gateway.get("/orders", token: token)
                #expect(response.status == 200)
            }
            try await Task.sleep(for: .seconds(expiresAt - Date().timeIntervalSince1970 + 0.2))
            let late = try await gateway.get("/orders", token: token)
            #expect(late.status == 401)
            #expect(late.errorDescription == "the token has expired")
        }
    }

    @Test func eachClaimCheckFailsWithItsOwnReason() async throws {
        let key = TestSigningKey.hmac(secret)
        try await withJWTGateway(settings) { gateway, _ in
            // Taken once the gateway runs, so a slow start-up cannot eat the leeway.
            let now = Date().timeIntervalSince1970
            let accepted = try await gateway.get("/orders", token: try await key.sign(valid()))
            #expect(accepted.status == 200)
            let withinLeeway = try await gateway.get("/orders", token: try await key.sign(valid(["exp": .number(now - 2)])))
            #expect(withinLeeway.status == 200)

            var noUser = valid()
            noUser["sub"] = nil
            var noGroups = valid()
            noGroups["groups"] = nil
            let cases: [([String: JSONValue], Int, String?)] = [
                (valid(["exp": .number(now - 60)]), 401, "the token has expired"),
                (valid(["nbf": .number(now + 60)]), 401, "the token is not valid yet"),
                (valid(["iss": .string("https://evil.example")]), 401, "the token's issuer is not trusted"),
                (valid(["aud": .string("other-api")]), 401, "the token is not meant for this audience"),
                (valid(["aud": .array([.string("x"), .string("orders-api")])]), 200, nil),
                (noUser, 401, "the token has no 'sub' claim"),
                (noGroups, 403, nil),
                (valid(["groups": .array([.string("strangers")])]), 403, nil),
            ]
            for (claims, status, reason) in cases {
                let response = try await gateway.get("/orders", token: try await key.sign(claims))
                #expect(response.status == status, "\(reason ?? "")")
                if let reason {
                    #expect(response.errorDescription == reason)
                    #expect(response.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
                }
            }
            let noGroupsResponse = try await gateway.get("/orders", token: try await key.sign(noGroups))
            #expect(try noGroupsResponse.json()["error"] as? String == "no_groups")
        }
    }

    @Test func malformedTokensAre401NeverA500() async throws {
        try await withJWTGateway(settings) { gateway, _ in
            let good = try await TestSigningKey.hmac(secret).sign(valid())
            let parts = good.split(separator: ".").map(String.init)
            let garbage = [
                "garbage", "a.b", "a.b.c.d", String(good.dropLast(5)), parts[0] + "." + parts[1], "!!!." + parts[1] + "." + parts[2],
                parts[0] + ".bm90IGpzb24." + parts[2], "e30." + parts[1] + "." + parts[2], parts[0] + "." + parts[1] + ".***",
            ]
            for token in garbage {
                let response = try await gateway.get("/orders", token: token)
                #expect(response.status == 401, "\(token.prefix(30))")
                #expect(response.errorDescription != nil)
            }
        }
    }

    @Test func tokensUpToTheHeaderLimitAreVerified() async throws {
        try await withJWTGateway(settings) { gateway, _ in
            let big = try await TestSigningKey.hmac(secret).sign(valid(["padding": .string(String(repeating: "x", count: 22_000))]))
            #expect(try await gateway.get("/orders", token: big).status == 200)
        }
    }

    @Test func keysEmbeddedInTheTokenAreNeverTrusted() async throws {
        let trusted = TestKeys.rsa
        let attacker = TestKeys.rsaOther
        let attackerSet = JWKSServer(keys: [attacker.jwk(kid: "evil")])
        try await withJWKSServer(attackerSet) { attackerURL in
            try await withJWTGateway(["publicKey": trusted.publicPEM]) { gateway, _ in
                let jwk = attacker.jwk(kid: "evil").mapValues { JWTHeaderField.string($0) }
                let embedded = try await attacker.sign(testClaims(), header: ["jwk": .object(jwk)])
                let viaJku = try await attacker.sign(testClaims(), kid: "evil", header: ["jku": .string("\(attackerURL)/jwks")])
                let viaX5u = try await attacker.sign(testClaims(), header: ["x5u": .string("\(attackerURL)/cert")])
                for token in [embedded, viaJku, viaX5u] {
                    let response = try await gateway.get("/orders", token: token)
                    #expect(response.status == 401)
                    #expect(response.errorDescription == "the token's signature is not valid")
                }
                #expect(attackerSet.fetches == 0)
            }
        }
    }

    @Test func aForgedKidFindsNoKeyInAJWKSet() async throws {
        let trusted = TestKeys.rsa
        try await withJWTGateway(["jwksFile": TestJWKS.json([trusted.jwk(kid: "real")])]) { gateway, _ in
            let forged = try await TestKeys.rsaOther.sign(testClaims(), kid: "real")
            #expect(try await gateway.get("/orders", token: forged).errorDescription == "the token's signature is not valid")
            let unknown = try await trusted.sign(testClaims(), kid: "../../etc/passwd")
            #expect(try await gateway.get("/orders", token: unknown).errorDescription == "no key with kid '../../etc/passwd' is known")
        }
    }

    @Test func aLineBreakInTheKidCannotStartAResponseHeaderOfItsOwn() async throws {
        let trusted = TestKeys.rsa
        try await withJWTGateway(["jwksFile": TestJWKS.json([trusted.jwk(kid: "real")])]) { gateway, _ in
            let token = try await trusted.sign(testClaims(), kid: "x\r\nX-Injected: yes")
            let text = try await RawHTTP.exchange(
                port: gateway.port, "GET /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
            #expect(!text.contains("\r\nX-Injected"))
            #expect(text.contains(#"error_description="no key with kid 'x??X-Injected: yes' is known""#))
        }
    }
}
