import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// JWT mode trusting identity providers beside its own key source: the token's `iss` picks the provider, whose
/// keys, audiences and claims mapping apply.
@Suite struct TrustedIssuersTests {
    func claims(issuer: String, audience: String, subject: String = "ada", groups: (claim: String, names: [String]) = ("groups", ["buyers"]))
        -> [String: JSONValue]
    {
        [
            "iss": .string(issuer), "aud": .string(audience), "sub": .string(subject), "exp": .number(Date().timeIntervalSince1970 + 600),
            groups.claim: .array(groups.names.map(JSONValue.string)),
        ]
    }

    func trust(_ issuer: String, name: String, audience: String, groupsClaim: String = "groups", in portico: TestPortico) async throws {
        var settings = IdentityProviderSettings(name: name, issuer: issuer)
        settings.audiences = [audience]
        settings.acceptTokens = true
        settings.claimsMapping = ClaimsMapping(groups: groupsClaim)
        settings.clientConfig = .init(timeoutSeconds: 2, maxRetries: 0)
        _ = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(settings, by: portico.actor)
    }

    /// Two providers and JWT mode's own HS256 secret (issuer `https://main.example`), an API and a grant to `buyers`.
    func withTwoProviders(
        _ body: @escaping @Sendable (TestOIDCProvider, String, TestOIDCProvider, String, GatewayHandle, TestPortico) async throws -> Void
    )
        async throws
    {
        let first = try TestOIDCProvider()
        let second = try TestOIDCProvider()
        try await withTestOIDCProvider(first) { firstIssuer in
            try await withTestOIDCProvider(second) { secondIssuer in
                try await withEchoUpstream { upstream in
                    try await withTestPortico { portico in
                        try await portico.useJWT(["signingSecret": String(repeating: "m", count: 32), "issuer": "https://main.example"])
                        try await trust(firstIssuer, name: "first", audience: "orders-first", in: portico)
                        try await trust(secondIssuer, name: "second", audience: "orders-second", groupsClaim: "roles", in: portico)
                        try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                        try await portico.grant("buyers", groups: ["buyers"])
                        try await portico.withGateway { gateway in
                            try await body(first, firstIssuer, second, secondIssuer, gateway, portico)
                        }
                    }
                }
            }
        }
    }

    @Test func eachProvidersTokensAreAcceptedWithItsOwnAudienceAndClaims() async throws {
        try await withTwoProviders { first, firstIssuer, second, secondIssuer, gateway, portico in
            let fromFirst = try await first.signingKey.sign(claims(issuer: firstIssuer, audience: "orders-first"), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: fromFirst).status == 200)
            #expect(try await gateway.get("/orders/2", key: fromFirst).status == 200, "and again, from the verified-token memory")
            let fromSecond = try await second.signingKey.sign(
                claims(issuer: secondIssuer, audience: "orders-second", groups: ("roles", ["buyers"])), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: fromSecond).status == 200)

            let otherAudience = try await second.signingKey.sign(
                claims(issuer: secondIssuer, audience: "orders-first", groups: ("roles", ["buyers"])), kid: "k1")
            let refused = try await gateway.get("/orders/1", key: otherAudience)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.contains("not meant for this audience") == true)

            // The second provider's own claims mapping: its groups are in `roles`, so a `groups` claim gives nothing.
            let wrongClaim = try await second.signingKey.sign(claims(issuer: secondIssuer, audience: "orders-second"), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: wrongClaim).status == 403)

            // Each provider's user is its own, even with the same subject.
            var externalIds: [String] = []
            for _ in 0..<50 {
                externalIds = try await portico.store.read { connection in
                    try await connection.query(
                        "SELECT external_id FROM users WHERE external_id IS NOT NULL ORDER BY external_id", logger: portico.database.logger
                    ).decode(String.self).reduce(into: []) { $0.append($1) }
                }
                if externalIds.count == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(Set(externalIds) == [firstIssuer + "|ada", secondIssuer + "|ada"])
        }
    }

    @Test func aTokenCarryingAnotherProvidersIssuerOrAnUnknownOneIsRefused() async throws {
        try await withTwoProviders { first, firstIssuer, second, _, gateway, _ in
            // Signed by the second provider's key, claiming to come from the first.
            let forged = try await second.signingKey.sign(claims(issuer: firstIssuer, audience: "orders-first"), kid: "k1")
            let refused = try await gateway.get("/orders/1", key: forged)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.contains("signature is not valid") == true)

            let unknown = try await first.signingKey.sign(claims(issuer: "https://unknown.example", audience: "orders-first"), kid: "k1")
            let unknownRefused = try await gateway.get("/orders/1", key: unknown)
            #expect(unknownRefused.status == 401)
            #expect(unknownRefused.header("WWW-Authenticate")?.contains("issuer 'https://unknown.example' is unknown") == true)
        }
    }

    @Test func theJWTSettingsOwnKeySourceKeepsWorkingBesideTheProviders() async throws {
        try await withTwoProviders { _, _, _, _, gateway, _ in
            let own = try await TestSigningKey.hmac(String(repeating: "m", count: 32)).sign(
                claims(issuer: "https://main.example", audience: "anything"))
            #expect(try await gateway.get("/orders/1", key: own).status == 200)
        }
    }

    @Test func aProviderWhoseKeysCannotBeFetchedIs503WithRetryAfter() async throws {
        try await withTwoProviders { first, firstIssuer, _, _, gateway, _ in
            first.setKeySetFailing(true)
            let token = try await first.signingKey.sign(claims(issuer: firstIssuer, audience: "orders-first"), kid: "k1")
            let unavailable = try await gateway.get("/orders/1", key: token)
            #expect(unavailable.status == 503)
            #expect(try unavailable.json()["error"] as? String == "jwks_unavailable")
            #expect(unavailable.header("Retry-After") == "5")
            #expect(unavailable.text.contains("'first'"))
        }
    }
}
