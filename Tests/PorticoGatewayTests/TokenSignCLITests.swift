import Foundation
import PorticoCore
import PorticoTestSupport
import Testing

/// `portico token sign`, run as the real binary, minting tokens the gateway accepts.
@Suite struct TokenSignCLITests {
    @Test func aSignedTokenPassesTheGatewayWithClaimsWhereTheMappingReadsThem() async throws {
        let secret = String(repeating: "cli signing secret ", count: 4)
        try await withJWTGateway(
            ["signingSecret": secret, "issuer": "https://idp.example", "audiences": ["orders"], "forwardHeaders": ["X-Tier": "tier"]],
            claimsMapping: ["groups": "realm_access.roles"]
        ) { gateway, portico in
            let env = ["DATABASE_URL": portico.testDatabase.url.connectionString, "PORTICO_SECRET_KEY": portico.secretKeyBase64]
            let signed = try runPortico(
                [
                    "token", "sign", "--sub", "ann", "--groups", "buyers,ops", "--email", "ann@example.com", "--exp", "10m",
                    "--claim", "tier=gold", "--claim", "level=3",
                ],
                environment: env)
            #expect(signed.status == 0, "\(signed.stderr)")
            let token = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let response = try await gateway.get("/orders", token: token)
            #expect(response.status == 200)
            #expect(try response.upstreamHeaders()["x-tier"] == "gold")

            let claims = try CompactJWS(token).claims()
            #expect(claims["realm_access"] == .object(["roles": .array([.string("buyers"), .string("ops")])]))
            #expect(claims["iss"] == .string("https://idp.example"))
            #expect(claims["aud"] == .string("orders"))
            #expect(claims["level"] == .number(3))
            let lifetime = (claims["exp"]?.number ?? 0) - (claims["iat"]?.number ?? 0)
            #expect(lifetime == 600)

            let wrongKey = try runPortico(
                ["token", "sign", "--sub", "ann"],
                environment: [
                    "DATABASE_URL": portico.testDatabase.url.connectionString, "PORTICO_SECRET_KEY": SecretBox.generateKeyBase64(),
                ])
            #expect(wrongKey.status != 0)
            #expect(wrongKey.stderr.contains("cannot be decrypted"))
            let badExp = try runPortico(["token", "sign", "--sub", "ann", "--exp", "soon"], environment: env)
            #expect(badExp.status != 0)
            #expect(badExp.stderr.contains("--exp"))
        }
    }

    @Test func signingIsRefusedForOtherKeySources() async throws {
        try await withJWTGateway(["publicKey": TestKeys.rsa.publicPEM]) { _, portico in
            let result = try runPortico(["token", "sign", "--sub", "ann"], environment: ["DATABASE_URL": portico.testDatabase.url.connectionString])
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: token sign needs a signingSecret key source"))
        }
    }
}
