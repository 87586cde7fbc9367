import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

/// Every key source, verified end to end through the gateway.
@Suite struct JWTKeySourceTests {
    @Test func everyHMACAlgorithmVerifiesWithASecretFromTheEnvironment() async throws {
        let variable = "PORTICO_TEST_SECRET_\(UUID().uuidString.prefix(8))"
        let environmentSecret = String(repeating: "an environment secret, ", count: 3)
        setenv(variable, environmentSecret, 1)
        try await withJWTGateway(["signingSecret": "env:\(variable)"]) { gateway, _ in
            for algorithm in ["HS256", "HS384", "HS512"] {
                let token = try await TestSigningKey.hmac(environmentSecret, algorithm: algorithm).sign(testClaims())
                let response = try await gateway.get("/orders", token: token)
                #expect(response.status == 200, "\(algorithm)")
            }
            let forged = try await TestSigningKey.hmac(String(repeating: "another secret ", count: 3)).sign(testClaims())
            let refused = try await gateway.get("/orders", token: forged)
            #expect(refused.status == 401)
            #expect(refused.errorDescription == "the token's signature is not valid")
        }
    }

    @Test func aLiteralSecretIsSealedAndAFileOrBase64SecretWorks() async throws {
        let literalSecret = String(repeating: "literal secret value ", count: 4)
        try await withJWTGateway(["signingSecret": literalSecret, "algorithms": ["HS256"]]) { gateway, portico in
            let token = try await TestSigningKey.hmac(literalSecret).sign(testClaims())
            #expect(try await gateway.get("/orders", token: token).status == 200)
            let hs512 = try await TestSigningKey.hmac(literalSecret, algorithm: "HS512").sign(testClaims())
            let refused = try await gateway.get("/orders", token: hs512)
            #expect(refused.errorDescription == "the token's algorithm HS512 is not accepted")

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("portico-secret-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: file) }
            try Data((Data("secret bytes from a file, 32 bytes or more".utf8).base64EncodedString() + "\n").utf8).write(to: file)
            try await portico.useJWT(["signingSecret": "file:\(file.path)", "signingSecretBase64Encoded": true])
            await portico.reloadPolicy()
            let fromFile = try await TestSigningKey.hmac("secret bytes from a file, 32 bytes or more").sign(testClaims())
            #expect(try await gateway.get("/orders", token: fromFile).status == 200)
        }
    }

    @Test func everyPublicKeyAlgorithmVerifies() async throws {
        let keys: [TestSigningKey] = [
            try .rsa("RS256"), try .rsa("RS384"), try .rsa("PS256"), try .rsa("PS512"), try .es256(), try .es384(), try .ed25519(),
        ]
        try await withJWTGateway(["publicKey": keys[0].publicPEM]) { gateway, portico in
            for key in keys {
                try await portico.useJWT(["publicKey": key.publicPEM])
                await portico.reloadPolicy()
                let token = try await key.sign(testClaims())
                #expect(try await gateway.get("/orders", token: token).status == 200, "\(key.algorithm)")
                let other = key.algorithm == "EdDSA" ? try TestSigningKey.ed25519() : try TestSigningKey.es256()
                let foreign = try await other.sign(testClaims())
                #expect(try await gateway.get("/orders", token: foreign).status == 401, "\(key.algorithm) refuses a foreign key")
            }
        }
    }

    @Test func aJWKSFileByPathIsReReadWhenItChanges() async throws {
        let first = TestKeys.rsa
        let second = try TestSigningKey.es256()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("portico-jwks-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(TestJWKS.json([first.jwk(kid: "one")]).utf8).write(to: file)
        try await withJWTGateway(["jwksFile": file.path]) { gateway, _ in
            let tokenOne = try await first.sign(testClaims(), kid: "one")
            let tokenTwo = try await second.sign(testClaims(), kid: "two")
            #expect(try await gateway.get("/orders", token: tokenOne).status == 200)
            #expect(try await gateway.get("/orders", token: tokenTwo).status == 401)

            try Data(TestJWKS.json([second.jwk(kid: "two")]).utf8).write(to: file)
            var status = 0
            for _ in 0..<40 where status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await gateway.get("/orders", token: tokenTwo).status
            }
            #expect(status == 200)
            #expect(try await gateway.get("/orders", token: tokenOne).status == 401)

            // A broken rewrite keeps the last good keys.
            try Data("{ not json".utf8).write(to: file)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await gateway.get("/orders", token: tokenTwo).status == 200)
        }
    }

    @Test func anInlineJWKSetWithKeysWithoutAlgOrKid() async throws {
        let key = TestKeys.rsa
        var anonymous = key.jwk(kid: "x", declareAlgorithm: false)
        anonymous["kid"] = nil
        let inline = TestJWKS.json([anonymous, ["kty": "oct", "k": "c2VjcmV0", "kid": "hmac"]])
        try await withJWTGateway(["jwksFile": inline, "algorithms": ["RS256"]]) { gateway, _ in
            let token = try await key.sign(testClaims())
            #expect(try await gateway.get("/orders", token: token).status == 200)
        }
    }

    @Test func aJWKSURLFollowsRotationAndOutlivesTheIdP() async throws {
        let keyA = TestKeys.rsa
        let keyB = try TestSigningKey.es256()
        let server = JWKSServer(keys: [keyA.jwk(kid: "a")])
        let tokenA = try await keyA.sign(testClaims(), kid: "a")
        let tokenB = try await keyB.sign(testClaims(), kid: "b")
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers-orders", groups: ["buyers"], apis: ["orders"])
                try await portico.withGateway { gateway in
                    try await withJWKSServer(server) { base in
                        try await portico.useJWT(["jwksUrl": "\(base)/certs", "jwksCacheSeconds": 300])
                        await portico.reloadPolicy()
                        #expect(try await gateway.get("/orders", token: tokenA).status == 200)
                        let afterFirst = server.fetches
                        #expect(try await gateway.get("/orders", token: tokenA).status == 200)
                        #expect(server.fetches == afterFirst, "a known key is served from the cache")

                        // Rotation: B appears, A disappears. The unknown kid b triggers one refetch at once.
                        server.serve([keyB.jwk(kid: "b")])
                        #expect(try await gateway.get("/orders", token: tokenB).status == 200)
                        #expect(server.fetches == afterFirst + 1)
                        let gone = try await gateway.get("/orders", token: tokenA)
                        #expect(gone.status == 401)
                        #expect(gone.errorDescription == "no key with kid 'a' is known")

                        // A flood of made-up kids does not reach the IdP again within 10 s.
                        for index in 0..<20 {
                            let forged = try await keyB.sign(testClaims(), kid: "forged-\(index)")
                            #expect(try await gateway.get("/orders", token: forged).status == 401)
                        }
                        #expect(server.fetches == afterFirst + 1)
                    }
                    // The IdP is gone; the keys fetched last stay in use.
                    #expect(try await gateway.get("/orders", token: tokenB).status == 200)
                }
            }
        }
    }

    @Test func aStaleJWKSIsRefreshedInTheBackgroundAndAFailingIdPKeepsTheLastKeys() async throws {
        let keyA = TestKeys.rsa
        let keyB = TestKeys.rsaOther
        let server = JWKSServer(keys: [keyA.jwk(kid: "a")])
        server.setCacheControl("max-age=1")
        try await withJWKSServer(server) { base in
            try await withJWTGateway(["jwksUrl": "\(base)/certs", "jwksCacheSeconds": 300, "clientConfig": ["maxRetries": 0]]) { gateway, _ in
                let tokenA = try await keyA.sign(testClaims(), kid: "a")
                #expect(try await gateway.get("/orders", token: tokenA).status == 200)
                let fetched = server.fetches
                server.setFailing(true)
                try await Task.sleep(for: .milliseconds(1100))
                // Stale: answered from the last keys at once while a refresh (which fails) runs behind.
                #expect(try await gateway.get("/orders", token: tokenA).status == 200)
                try await Task.sleep(for: .milliseconds(200))
                #expect(server.fetches > fetched)
                #expect(try await gateway.get("/orders", token: tokenA).status == 200)

                // Back up with a new key under the same kid: picked up once the failure back-off has passed.
                server.setFailing(false)
                server.serve([keyB.jwk(kid: "a")])
                let tokenB = try await keyB.sign(testClaims(), kid: "a")
                var status = 0
                for _ in 0..<80 where status != 200 {
                    try await Task.sleep(for: .milliseconds(100))
                    status = try await gateway.get("/orders", token: tokenB).status
                }
                #expect(status == 200)
            }
        }
    }

    @Test func aJWKSPathIsFetchedOnlyFromATrustedIssuer() async throws {
        let key = TestKeys.rsa
        let server = JWKSServer(keys: [key.jwk(kid: "k")])
        try await withJWKSServer(server) { base in
            try await withJWTGateway(["jwksUrl": "/.well-known/jwks.json", "issuer": base]) { gateway, _ in
                let trusted = try await key.sign(testClaims(extra: ["iss": .string(base)]), kid: "k")
                #expect(try await gateway.get("/orders", token: trusted).status == 200)
                let before = server.fetches
                let elsewhere = try await key.sign(testClaims(extra: ["iss": .string("http://127.0.0.1:9/evil")]), kid: "k")
                let refused = try await gateway.get("/orders", token: elsewhere)
                #expect(refused.status == 401)
                #expect(refused.errorDescription == "the token's issuer is not trusted")
                #expect(server.fetches == before)
            }
        }
    }
}
