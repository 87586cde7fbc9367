import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Signing in to the portal and the dashboard through an identity provider: the authorization code flow against
/// a provider of the tests' own that serves discovery, keys, authorization, token, UserInfo and end-session
/// endpoints, and can be made to send what a real one would not (the OpenID RP conformance cases).
@Suite struct ProviderSignInTests {
    /// Registers `issuer` as provider `corp` for portal and dashboard sign-in; members of `platform` are admins.
    func register(_ issuer: String, in portico: TestPortico, configure: (inout IdentityProviderSettings) -> Void = { _ in }) async throws {
        var settings = IdentityProviderSettings(name: "corp", issuer: issuer)
        settings.clientId = TestOIDCProvider.clientId
        settings.clientSecret = TestOIDCProvider.clientSecret
        settings.signIn = .init(dashboard: true, portal: true)
        settings.adminGroups = ["platform"]
        settings.clientConfig = .init(timeoutSeconds: 2, maxRetries: 0)
        configure(&settings)
        _ = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(settings, by: portico.actor)
    }

    /// What a browser does from Portico's sign-in link to the provider and back: the callback page.
    func signIn(_ web: WebClient, at provider: TestOIDCProvider, area: String = "portal", returnTo: String? = nil) async throws -> WebClient.Page {
        let callback = try await callbackPath(web, at: provider, area: area, returnTo: returnTo)
        return try await web.get(callback)
    }

    /// The first two hops only: where the provider sends the browser back to (a path on Portico).
    func callbackPath(_ web: WebClient, at provider: TestOIDCProvider, area: String = "portal", returnTo: String? = nil) async throws -> String {
        let start = try await web.get("/\(area == "portal" ? "portal" : "admin")/sign-in/oidc/corp" + (returnTo.map { "?return=" + $0 } ?? ""))
        #expect(start.status == 303)
        #expect(start.headers[.init("Referrer-Policy")!] == "no-referrer")
        let authorized = try await provider.authorize(try #require(start.location))
        #expect(authorized.status == 303)
        let location = try #require(authorized.location)
        #expect(location.hasPrefix(TestPortico.publicURL + "/oidc/corp/callback?"))
        return String(location.dropFirst(TestPortico.publicURL.count))
    }

    func withProvider(
        passwordSignIn: Bool = true, configure: @escaping @Sendable (inout IdentityProviderSettings) -> Void = { _ in },
        _ body: @escaping @Sendable (TestOIDCProvider, String, WebClient, TestPortico) async throws -> Void
    ) async throws {
        let provider = try TestOIDCProvider()
        provider.signIn(as: [
            "sub": .string("ada"), "email": .string("ada@example.com"), "name": .string("Ada"), "groups": .array([.string("buyers")]),
        ])
        try await withTestOIDCProvider(provider) { issuer in
            try await withDashboard(passwordSignIn: passwordSignIn) { web, portico in
                try await register(issuer, in: portico, configure: configure)
                try await body(provider, issuer, web, portico)
            }
        }
    }

    @Test func rpResponseTypeCodeSignsInCreatesTheUserAndSyncsGroups() async throws {
        try await withProvider { provider, issuer, web, portico in
            let page = try await web.get("/portal/sign-in")
            #expect(page.contains(#"href="/portal/sign-in/oidc/corp">Sign in with corp</a>"#))
            let callback = try await signIn(web, at: provider)
            #expect(callback.status == 303)
            #expect(callback.location == "/portal")
            #expect(callback.headers[.cacheControl] == "no-store")
            #expect(callback.headers[.init("Referrer-Policy")!] == "no-referrer")

            let request = provider.lastAuthorization
            #expect(request["response_type"] == "code")
            #expect(request["client_id"] == "portico")
            #expect(request["redirect_uri"] == TestPortico.publicURL + "/oidc/corp/callback")
            #expect(request["code_challenge_method"] == "S256" && request["code_challenge"]?.count == 43)
            #expect(request["scope"] == "openid profile email")
            #expect((request["state"]?.count ?? 0) >= 43 && (request["nonce"]?.count ?? 0) >= 43 && request["state"] != request["nonce"])

            #expect(try await web.get("/portal").status == 200)
            let user = try #require(try await portico.store.read { try await portico.store.users.find(externalId: issuer + "|ada", on: $0) })
            #expect(user.email == "ada@example.com" && user.name == "Ada" && user.role == .consumer && user.groups == ["buyers"])

            provider.signIn(as: ["sub": .string("ada"), "email": .string("ada@example.com"), "groups": .array([.string("sellers")])])
            _ = try await signIn(web, at: provider)
            let synced = try #require(try await portico.store.read { try await portico.store.users.find(externalId: issuer + "|ada", on: $0) })
            #expect(synced.id == user.id && synced.groups == ["sellers"], "groups follow the provider at every sign-in")
        }
    }

    @Test func membersOfAnAdminGroupGetTheDashboardAnyoneElseThePortal() async throws {
        try await withProvider { provider, _, web, _ in
            let consumer = try await signIn(web, at: provider, area: "admin")
            #expect(consumer.location == "/portal", "not an admin: the portal, whichever page the sign-in started from")
            #expect(try await web.get("/admin").status != 200)

            provider.signIn(as: ["sub": .string("grace"), "groups": .array([.string("platform")])])
            let admin = try await signIn(web, at: provider, area: "admin", returnTo: "/admin/apis")
            #expect(admin.location == "/admin/apis")
            #expect(try await web.get("/admin/apis").status == 200)
        }
    }

    @Test func hostileIDTokensAreRefusedAndNoSessionStarts() async throws {
        try await withProvider { provider, issuer, web, portico in
            let hmac = TestSigningKey.hmac(String(repeating: "h", count: 32))
            let cases: [(String, TestOIDCProvider.IDTokenStyle, String)] = [
                ("rp-id_token-issuer-mismatch", style(["iss": .string("https://elsewhere.example")]), "the token's issuer is not trusted"),
                ("rp-id_token-aud", style(["aud": .string("someone-else")]), "not meant for this audience"),
                ("rp-id_token-sub", style(["sub": nil]), "the ID token has no sub claim"),
                ("rp-id_token-iat", style(["iat": nil]), "the ID token has no iat claim"),
                ("rp-nonce-invalid", style(["nonce": .string("not-this-one")]), "nonce does not match this sign-in"),
                ("rp-id_token-bad-sig-rs256", style(signing: .otherKey(try TestSigningKey.rsa("RS256"))), "signature is not valid"),
                ("rp-id_token-bad-sig-hs256", style(signing: .otherKey(hmac)), "HS256 is not accepted"),
                ("rp-id_token-bad-sig-es256", style(signing: .otherKey(try TestSigningKey.es256())), "ES256 is not accepted"),
                ("rp-id_token-sig-none", style(signing: .unsigned), "none"),
                ("azp of another client", style(["aud": .array([.string("portico"), .string("other")]), "azp": .string("other")]), "azp"),
            ]
            for (name, tokenStyle, reason) in cases {
                provider.styleIDTokens(tokenStyle)
                web.forget("portico_session")
                let refused = try await signIn(web, at: provider)
                #expect(refused.status == 401, "\(name)")
                #expect(refused.text.contains(reason), "\(name): \(refused.html)")
                #expect(refused.headers[.cacheControl] == "no-store")
                #expect(refused.headers[.setCookie]?.contains("portico_session=ps_") != true, "\(name) starts no session")
            }
            let users = try await portico.store.read { try await portico.store.users.find(externalId: issuer + "|ada", on: $0) }
            #expect(users == nil, "no refused sign-in created the user")
        }
    }

    func style(_ claims: [String: JSONValue?] = [:], signing: TestOIDCProvider.IDTokenStyle.Signing = .providerKey) -> TestOIDCProvider.IDTokenStyle {
        var style = TestOIDCProvider.IDTokenStyle()
        style.claims = claims
        style.signing = signing
        return style
    }

    @Test func rpKidAbsentKeyRotationAndSignatureRS256AreAccepted() async throws {
        try await withProvider { provider, _, web, _ in
            #expect(try await signIn(web, at: provider).location == "/portal", "rp-id_token-sig-rs256")
            provider.styleIDTokens(style(signing: .providerKeyWithoutKid))
            #expect(try await signIn(web, at: provider).location == "/portal", "rp-id_token-kid-absent-single-jwks")
            provider.styleIDTokens(style())
            try provider.rotateKey()
            #expect(try await signIn(web, at: provider).location == "/portal", "rp-key-rotation-op-sign-key")
        }
    }

    @Test func aUserInfoSubjectOtherThanTheIDTokensIsRefused() async throws {
        try await withProvider { provider, _, web, _ in
            provider.overrideUserInfo(["sub": .string("mallory")])
            let refused = try await signIn(web, at: provider)
            #expect(refused.status == 401)
            #expect(refused.contains("UserInfo names another subject than the ID token"), "rp-userinfo-bad-sub-claim")
        }
    }

    @Test func aTamperedStateAReplayAnotherBrowserAndASwappedCodeAreRefused() async throws {
        try await withProvider { provider, _, web, _ in
            let callback = try await callbackPath(web, at: provider)
            let tampered = try await web.get(callback.replacingOccurrences(of: "state=", with: "state=x"))
            #expect(tampered.status == 400)
            #expect(tampered.contains("unknown, expired or already finished"))

            let elsewhere = try await callbackPath(web, at: provider)
            let flowCookie = try #require(web.cookies["portico_sign_in"])
            web.setCookie("portico_sign_in", "psf_" + String(repeating: "A", count: 43))
            let otherBrowser = try await web.get(elsewhere)
            #expect(otherBrowser.status == 400)
            #expect(otherBrowser.contains("started in another browser"))
            web.setCookie("portico_sign_in", flowCookie)

            #expect(try await web.get(callback).location == "/portal")
            let replayed = try await web.get(callback)
            #expect(replayed.status == 400, "a callback (and its code) works once")

            // Flow A's code with flow B's state: the provider checks B's PKCE verifier against A's challenge.
            let first = try await callbackPath(web, at: provider)
            let second = try await callbackPath(web, at: provider)
            let code = try #require(URLComponents(string: first)?.queryItems?.first { $0.name == "code" }?.value)
            let secondState = try #require(URLComponents(string: second)?.queryItems?.first { $0.name == "state" }?.value)
            let swapped = try await web.get("/oidc/corp/callback?code=\(code)&state=\(secondState)")
            #expect(swapped.status == 401)
            #expect(swapped.contains("PKCE verification failed"))
        }
    }

    @Test func twoTabsSigningInAtOnceBothFinishAndTheReturnPathStaysOnSite() async throws {
        try await withProvider { provider, _, web, _ in
            let first = try await callbackPath(web, at: provider, returnTo: "/portal/keys")
            let second = try await callbackPath(web, at: provider, returnTo: "//evil.example/portal")
            #expect(try await web.get(second).location == "/portal", "an off-site return path is dropped")
            #expect(try await web.get(first).location == "/portal/keys")
            let outside = try await signIn(web, at: provider, returnTo: "https://evil.example")
            #expect(outside.location == "/portal")
        }
    }

    @Test func rfc9207AnIssuerInTheAnswerMustBeTheProvidersOwn() async throws {
        let provider = try TestOIDCProvider()
        provider.override("authorization_response_iss_parameter_supported", with: .bool(true))
        try await withTestOIDCProvider(provider) { issuer in
            try await withDashboard { web, portico in
                try await register(issuer, in: portico)
                let missing = try await signIn(web, at: provider)
                #expect(missing.status == 401)
                #expect(missing.contains("does not name its issuer"))
                provider.answerWithIssuer(true)
                #expect(try await signIn(web, at: provider).location == "/portal")
                let mixedUp = try await callbackPath(web, at: provider)
                let forged = try await web.get(mixedUp.replacingOccurrences(of: "iss=", with: "iss=https%3A%2F%2Fattacker.example&x="))
                #expect(forged.status == 401)
                #expect(forged.text.contains("not from '\(issuer)'"))
            }
        }
    }

    @Test func theProviderDownAtSignInIsA503NamingIt() async throws {
        try await withProvider { provider, _, web, _ in
            let callback = try await callbackPath(web, at: provider)
            provider.setDown(true)
            let down = try await web.get(callback)
            #expect(down.status == 503)
            #expect(down.text.contains("identity provider 'corp' is unavailable"))
            #expect(!down.contains("Fatal") && !down.contains("PorticoError"))
        }
    }

    @Test func aDisabledUserCannotSignInAndAnEmailIsNeverTakenOver() async throws {
        try await withProvider { provider, issuer, web, portico in
            let local = try await UserService(store: portico.store).create(UserInput(email: "ada@example.com"), by: portico.actor)
            #expect(try await signIn(web, at: provider).location == "/portal")
            let external = try #require(try await portico.store.read { try await portico.store.users.find(externalId: issuer + "|ada", on: $0) })
            #expect(external.id != local.id && external.email == "", "the local account with that email stays its own")

            _ = try await UserService(store: portico.store).update(external.id, UserPatch(disabled: true), by: portico.actor)
            web.forget("portico_session")
            let refused = try await signIn(web, at: provider)
            #expect(refused.status == 403)
            #expect(refused.contains("is disabled"))
        }
    }

    @Test func signOutEndsTheSessionAndTheProviders() async throws {
        try await withProvider { provider, issuer, web, portico in
            _ = try await signIn(web, at: provider)
            let stored = try await portico.store.read { connection in
                try await connection.query("SELECT id_token FROM web_sessions", logger: portico.database.logger)
                    .decode(String?.self).reduce("") { $0 + ($1 ?? "") }
            }
            #expect(stored.hasPrefix(SecretBox.storedPrefix), "the ID token kept for the sign-out hint is sealed")
            _ = try await web.get("/portal")
            let out = try await web.post("/portal/sign-out")
            #expect(out.status == 200, "a page that moves on to the provider: a form may not redirect off-site")
            #expect(out.headers[.init("Referrer-Policy")!] == "no-referrer")
            let location = try #require(continuation(of: out))
            #expect(out.contains(#"<meta http-equiv="refresh" content="0; url="#))
            #expect(location.hasPrefix(issuer + "/logout?id_token_hint=ey"))
            #expect(location.contains("post_logout_redirect_uri=http%3A%2F%2Fportico.test%2Fportal%2Fsign-in"))
            #expect(location.contains("client_id=portico"))
            #expect(try await web.get("/portal").status == 303, "the session is gone")
        }
    }

    @Test func withPasswordsOffOnlyTheProvidersSignIn() async throws {
        try await withProvider(passwordSignIn: false) { provider, _, web, _ in
            let page = try await web.get("/portal/sign-in")
            #expect(page.contains("Sign in with corp") && !page.contains(#"type="password""#))
            // The page has no form to take a token from; the browser's own token is what a form would carry.
            let refused = try await web.post(
                "/portal/sign-in", [("email", "admin@example.com"), ("password", adminPassword)], csrf: web.cookies["portico_csrf"])
            #expect(refused.status == 403)
            #expect(refused.contains("turned off"))
            #expect(try await signIn(web, at: provider).location == "/portal")
        }
    }
}

/// The same sign-in against a real OpenID provider: oidc-provider-mock from PyPI, its own authorization page,
/// token endpoint, keys, UserInfo and end-session endpoint.
@Suite struct RealProviderSignInTests {
    @Test func aConsumerSignsInToThePortalThroughOIDCProviderMockAndOut() async throws {
        let users: [[String: JSONValue]] = [
            ["sub": .string("ada"), "email": .string("ada@mock.example"), "name": .string("Ada"), "groups": .array([.string("buyers")])],
            ["sub": .string("grace"), "email": .string("grace@mock.example"), "groups": .array([.string("platform")])],
        ]
        try await withOIDCProviderMock(users: users) { provider in
            try await withDashboard { web, portico in
                var settings = IdentityProviderSettings(name: "corp", issuer: provider.issuer)
                settings.clientId = "portico"
                settings.clientSecret = "mock client secret"
                settings.signIn = .init(dashboard: true, portal: true)
                settings.adminGroups = ["platform"]
                let created = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(
                    settings, by: portico.actor)
                #expect(created.discovered.endSessionEndpoint != nil)

                for (subject, area, landing) in [("ada", "portal", "/portal"), ("grace", "admin", "/admin")] {
                    let start = try await web.get("/\(area)/sign-in/oidc/corp")
                    let authorization = try #require(start.location)
                    #expect(authorization.hasPrefix(provider.issuer))
                    let form = try await ProviderBrowser.send(authorization)
                    #expect(form.status == 200 && form.body.contains("Authorize as \(subject)"), "the provider's own page")
                    let chosen = try await ProviderBrowser.send(authorization, form: [("sub", subject)])
                    let callback = try #require(chosen.location)
                    #expect(callback.hasPrefix(TestPortico.publicURL + "/oidc/corp/callback?"))
                    let signedIn = try await web.get(String(callback.dropFirst(TestPortico.publicURL.count)))
                    #expect(signedIn.location == landing, "\(subject): \(signedIn.text)")
                    #expect(try await web.get(landing).status == 200)
                    if subject == "ada" {
                        let user = try await portico.store.read { try await portico.store.users.find(externalId: provider.issuer + "|ada", on: $0) }
                        #expect(user?.email == "ada@mock.example" && user?.groups == ["buyers"] && user?.role == .consumer)
                        let out = try await web.post("/portal/sign-out")
                        let endSession = try #require(continuation(of: out))
                        #expect(endSession.hasPrefix(provider.issuer + "/oauth2/end_session?id_token_hint="))
                        #expect(try await web.get("/portal").status == 303)
                    }
                }
            }
        }
    }
}

/// Where a page that moves on by itself (the provider's sign-out) sends the browser: its "Continue" link.
func continuation(of page: WebClient.Page) -> String? {
    guard let start = page.html.range(of: #"<a class="button" href=""#) else { return nil }
    let rest = page.html[start.upperBound...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&")
}
