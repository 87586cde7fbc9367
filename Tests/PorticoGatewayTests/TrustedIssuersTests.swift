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

    @Test func withoutJWTSettingsTheTrustedProvidersAloneAreJWTMode() async throws {
        try await withTwoProviders { first, firstIssuer, second, secondIssuer, gateway, portico in
            let auth = AuthSettingsService(store: portico.store, secretBox: portico.secretBox)
            let update = try await auth.update(AuthSettingsInput(jwt: .some(nil)), by: portico.actor)
            #expect(update.settings.mode == .jwt && update.settings.jwt == nil)
            #expect(update.settings.trustedProviders.map(\.name) == ["first", "second"])
            await gateway.gateway.feed.reload()

            let fromFirst = try await first.signingKey.sign(claims(issuer: firstIssuer, audience: "orders-first"), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: fromFirst).status == 200)
            let fromSecond = try await second.signingKey.sign(
                claims(issuer: secondIssuer, audience: "orders-second", groups: ("roles", ["buyers"])), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: fromSecond).status == 200)
            let formerlyOwn = try await TestSigningKey.hmac(String(repeating: "m", count: 32)).sign(
                claims(issuer: "https://main.example", audience: "anything"))
            let refused = try await gateway.get("/orders/1", key: formerlyOwn)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.contains("issuer 'https://main.example' is unknown") == true)

            // The last provider JWT mode trusts can neither stop accepting tokens nor go.
            let providers = IdentityProviderService(store: portico.store, secretBox: portico.secretBox)
            let listed = try await providers.list()
            let firstId = try #require(listed.first { $0.settings.name == "first" }?.id)
            let secondId = try #require(listed.first { $0.settings.name == "second" }?.id)
            try await providers.delete(secondId, by: portico.actor)
            await #expect(
                throws: PorticoError.conflict(
                    "JWT mode has no key source of its own and trusts only identity provider 'first'; give it a key source or trust another provider first"
                )
            ) {
                try await providers.delete(firstId, by: portico.actor)
            }
            await #expect(throws: PorticoError.self) {
                try await providers.update(firstId, patch: ["acceptTokens": .bool(false)], by: portico.actor)
            }
            #expect(try await providers.get(firstId).settings.acceptTokens == true)
        }
    }

    @Test func jwtModeWithoutJWTSettingsNeedsAProviderThatAcceptsTokens() async throws {
        try await withTestPortico { portico in
            let auth = AuthSettingsService(store: portico.store, secretBox: portico.secretBox)
            await #expect(
                throws: PorticoError.invalid(
                    field: "jwt", reason: "JWT mode needs JWT settings with a key source, or an identity provider with acceptTokens")
            ) {
                try await auth.update(AuthSettingsInput(mode: .jwt, jwt: .some(nil)), by: portico.actor)
            }
            let mode = try await auth.current().mode
            #expect(mode == .apiKey)
        }
    }

    @Test func anAPICanNarrowWhichTrustedProvidersTokensItAccepts() async throws {
        try await withTwoProviders { first, firstIssuer, second, secondIssuer, gateway, portico in
            let apis = APIService(store: portico.store)
            let orders = try #require(try await apis.list().first { $0.name == "orders" })
            let narrowed = try await apis.update(orders.id, APIPatch(tokenProviders: .some(["second"])), by: portico.actor)
            #expect(narrowed.tokenProviders == ["second"])
            await gateway.gateway.feed.reload()

            let fromFirst = try await first.signingKey.sign(claims(issuer: firstIssuer, audience: "orders-first"), kid: "k1")
            let refused = try await gateway.get("/orders/1", key: fromFirst)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.contains("API 'orders' accepts only tokens issued by '\(secondIssuer)'") == true)
            let own = try await TestSigningKey.hmac(String(repeating: "m", count: 32)).sign(
                claims(issuer: "https://main.example", audience: "anything"))
            #expect(try await gateway.get("/orders/1", key: own).status == 401)
            let fromSecond = try await second.signingKey.sign(
                claims(issuer: secondIssuer, audience: "orders-second", groups: ("roles", ["buyers"])), kid: "k1")
            #expect(try await gateway.get("/orders/1", key: fromSecond).status == 200)

            // A provider an API names cannot go; unknown names and an empty list are refused.
            let providers = IdentityProviderService(store: portico.store, secretBox: portico.secretBox)
            let secondId = try #require(try await providers.list().first { $0.settings.name == "second" }?.id)
            await #expect(
                throws: PorticoError.conflict("identity provider 'second' is in the tokenProviders of API 'orders'; change them first")
            ) {
                try await providers.delete(secondId, by: portico.actor)
            }
            await #expect(throws: PorticoError.invalid(field: "tokenProviders", reason: "no identity provider named 'third'")) {
                try await apis.update(orders.id, APIPatch(tokenProviders: .some(["third"])), by: portico.actor)
            }
            await #expect(
                throws: PorticoError.invalid(field: "tokenProviders", reason: "must name at least one identity provider; null accepts all of them")
            ) {
                try await apis.update(orders.id, APIPatch(tokenProviders: .some([])), by: portico.actor)
            }

            let widened = try await apis.update(orders.id, APIPatch(tokenProviders: .some(nil)), by: portico.actor)
            #expect(widened.tokenProviders == nil)
            await gateway.gateway.feed.reload()
            #expect(try await gateway.get("/orders/1", key: fromFirst).status == 200)
        }
    }
}
