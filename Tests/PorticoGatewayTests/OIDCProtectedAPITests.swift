import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

/// APIs protected by an OIDC session: browsers sign in at the provider and come back to the API's callback; the
/// session lives in PostgreSQL, so every gateway replica accepts it, and a sign-out reaches every replica.
@Suite struct OIDCProtectedAPITests {
    static let browser = [("Accept", "text/html,application/xhtml+xml")]

    /// A provider `corp`, an API `app` at `/app` protected by it, a grant to `buyers`, and two gateway replicas.
    func withProtectedAPI(
        configure: @escaping @Sendable (inout APIOIDCSettings) -> Void = { _ in },
        _ body: @escaping @Sendable (TestOIDCProvider, GatewayHandle, GatewayHandle, TestPortico) async throws -> Void
    ) async throws {
        let provider = try TestOIDCProvider()
        provider.signIn(as: ["sub": .string("ada"), "email": .string("ada@example.com"), "groups": .array([.string("buyers")])])
        try await withTestOIDCProvider(provider) { issuer in
            try await withEchoUpstream { upstream in
                try await withTestPortico { portico in
                    var settings = IdentityProviderSettings(name: "corp", issuer: issuer)
                    settings.clientId = TestOIDCProvider.clientId
                    settings.clientSecret = TestOIDCProvider.clientSecret
                    settings.clientConfig = .init(timeoutSeconds: 2, maxRetries: 0)
                    _ = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(settings, by: portico.actor)
                    let api = try await portico.createAPI("app", prefix: "/app", upstreamPort: upstream, stripPrefix: true)
                    var oidc = APIOIDCSettings(provider: "corp", redirectPath: "/callback")
                    oidc.logoutPath = "/logout"
                    oidc.postLogoutRedirect = "/signed-out"
                    oidc.forwardHeaders = ["X-User-Email": "email"]
                    configure(&oidc)
                    _ = try await APIService(store: portico.store).update(api.id, APIPatch(auth: .oidc, oidc: .some(oidc)), by: portico.actor)
                    try await portico.grant("buyers", groups: ["buyers"])
                    try await portico.withGateway { first in
                        try await portico.withGateway { second in
                            try await body(provider, first, second, portico)
                        }
                    }
                }
            }
        }
    }

    /// A browser's sign-in through `gateway`, from asking for `path` to holding the session cookie.
    func signIn(_ gateway: GatewayHandle, at provider: TestOIDCProvider, path: String = "/app/page?x=1") async throws -> (name: String, value: String)
    {
        let asked = try await ProviderBrowser.send(gateway.baseURL + path, headers: Self.browser)
        #expect(asked.status == 302)
        let flowCookie = try #require(asked.cookies.first { $0.key.hasPrefix("portico_oidc_flow_") })
        let authorized = try await provider.authorize(try #require(asked.location))
        let callback = try #require(authorized.location)
        #expect(callback.hasPrefix(gateway.baseURL + "/app/callback?"))
        let finished = try await ProviderBrowser.send(callback, headers: [("Cookie", "\(flowCookie.key)=\(flowCookie.value)")])
        #expect(finished.status == 302)
        #expect(finished.location == path, "back to the page first asked for")
        #expect(finished.header("Cache-Control") == "no-store" && finished.header("Referrer-Policy") == "no-referrer")
        let session = try #require(finished.cookies.first { $0.key.hasPrefix("portico_oidc_") && !$0.key.contains("flow") })
        #expect(finished.headers.contains { $0.0 == "Set-Cookie" && $0.1.contains("HttpOnly; SameSite=Lax") && $0.1.contains("Path=/app") })
        return (session.key, session.value)
    }

    @Test func aBrowserSignsInAndItsSessionWorksOnEveryReplicaWithoutTheCookieReachingTheUpstream() async throws {
        try await withProtectedAPI { provider, first, second, _ in
            let apiClient = try await first.get("/app/page")
            #expect(apiClient.status == 401)
            #expect(try apiClient.json()["error"] as? String == "sign_in_required")
            #expect(apiClient.header("WWW-Authenticate")?.contains(#"error="login_required""#) == true)

            let asked = try await ProviderBrowser.send(first.baseURL + "/app/page", headers: Self.browser)
            let authorization = try #require(asked.location)
            #expect(authorization.contains("redirect_uri=" + URLEncodedForm.encode(first.baseURL + "/app/callback")))
            #expect(authorization.contains("code_challenge_method=S256"))

            let session = try await signIn(first, at: provider)
            let cookies = [("Cookie", "theme=dark; \(session.name)=\(session.value)"), ("X-User-Email", "spoofed@example.com")]
            let page = try await first.get("/app/page", headers: cookies)
            #expect(page.status == 200)
            let seen = try #require(try page.json()["headers"] as? [String: String])
            #expect(seen["cookie"] == "theme=dark", "the session cookie stays with the gateway")
            #expect(seen["x-user-email"] == "ada@example.com", "the claim, not the client's copy")

            #expect(try await second.get("/app/page", headers: cookies).status == 200, "another replica accepts the session")
            provider.setDown(true)
            #expect(try await first.get("/app/other", headers: cookies).status == 200, "the provider down changes nothing for a session")
        }
    }

    @Test func signingOutEndsTheSessionOnEveryReplicaWithinASecond() async throws {
        try await withProtectedAPI { provider, first, second, _ in
            let session = try await signIn(first, at: provider)
            let cookie = [("Cookie", "\(session.name)=\(session.value)")]
            #expect(try await second.get("/app/page", headers: cookie).status == 200)
            let out = try await ProviderBrowser.send(first.baseURL + "/app/logout", headers: cookie)
            #expect(out.status == 302)
            let location = try #require(out.location)
            #expect(location.contains("/logout?id_token_hint=ey"))
            #expect(location.contains("post_logout_redirect_uri=" + URLEncodedForm.encode(first.baseURL + "/signed-out")))
            let clock = ContinuousClock()
            let start = clock.now
            var status = 200
            while clock.now - start < .seconds(1) {
                status = try await second.get("/app/page", headers: cookie).status
                if status == 401 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == 401, "the other replica forgot the session")
            #expect(try await first.get("/app/page", headers: cookie).status == 401)
        }
    }

    @Test func aTamperedStateAnotherBrowserAndAnExpiredSessionAreRefused() async throws {
        try await withProtectedAPI { provider, first, second, portico in
            let tampered = try await first.get("/app/callback?state=nope&code=nope")
            #expect(tampered.status == 400)
            #expect(try tampered.json()["error"] as? String == "invalid_sign_in")

            let asked = try await ProviderBrowser.send(first.baseURL + "/app/page", headers: Self.browser)
            let authorized = try await provider.authorize(try #require(asked.location))
            let elsewhere = try await ProviderBrowser.send(
                try #require(authorized.location), headers: [("Cookie", "portico_oidc_flow_x=psf_" + String(repeating: "A", count: 43))])
            #expect(elsewhere.status == 400 && elsewhere.body.contains("another browser"))

            let session = try await signIn(first, at: provider)
            try await portico.store.read { connection in
                try await connection.query(
                    "UPDATE gateway_oidc_sessions SET expires_at = now() - interval '1 second'", logger: portico.database.logger)
            }
            let cookie = [("Cookie", "\(session.name)=\(session.value)")]
            #expect(try await second.get("/app/page", headers: cookie).status == 401, "an expired session is refused")
            let browser = try await ProviderBrowser.send(second.baseURL + "/app/page", headers: cookie + Self.browser)
            #expect(browser.status == 302 && browser.location?.hasPrefix(provider.issuerForTests) == true, "a browser signs in again")
        }
    }

    @Test func groupsFromTheProviderDecideAccessAndADisabledUserIsRefused() async throws {
        try await withProtectedAPI { provider, first, _, portico in
            provider.signIn(as: ["sub": .string("eve"), "groups": .array([.string("strangers")])])
            let session = try await signIn(first, at: provider)
            let cookie = [("Cookie", "\(session.name)=\(session.value)")]
            let refused = try await first.get("/app/page", headers: cookie)
            #expect(refused.status == 403)
            #expect(try refused.json()["error"] as? String == "no_access")

            provider.signIn(as: ["sub": .string("ada"), "groups": .array([.string("buyers")])])
            let ada = try await signIn(first, at: provider)
            let adaCookie = [("Cookie", "\(ada.name)=\(ada.value)")]
            #expect(try await first.get("/app/page", headers: adaCookie).status == 200)
            var user: User?
            for _ in 0..<50 {
                user = try await portico.store.read { try await portico.store.users.find(externalId: provider.issuerForTests + "|ada", on: $0) }
                if user != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let seen = try #require(user, "the session's user became a portal user")
            _ = try await UserService(store: portico.store).update(seen.id, UserPatch(disabled: true), by: portico.actor)
            await first.gateway.feed.reload()
            #expect(try await first.get("/app/page", headers: adaCookie).status == 401)
        }
    }

    @Test func oidcSettingsAreCheckedWhenSaved() async throws {
        try await withTestPortico { portico in
            let api = try await portico.createAPI("app", prefix: "/app", upstreamPort: 9)
            let apis = APIService(store: portico.store)
            await #expect(throws: PorticoError.invalid(field: "oidc", reason: #"auth "oidc" needs oidc settings: {provider, redirectPath, …}"#)) {
                try await apis.update(api.id, APIPatch(auth: .oidc), by: portico.actor)
            }
            await #expect(throws: PorticoError.invalid(field: "oidc.provider", reason: "no identity provider named 'corp'")) {
                try await apis.update(
                    api.id, APIPatch(auth: .oidc, oidc: .some(APIOIDCSettings(provider: "corp", redirectPath: "/cb"))), by: portico.actor)
            }
            var short = APIOIDCSettings(provider: "corp", redirectPath: "/cb")
            short.session = .init(expirySeconds: 5)
            await #expect(throws: PorticoError.invalid(field: "oidc.session.expirySeconds", reason: "must be between 60 and 2592000 (30 days)")) {
                try await apis.update(api.id, APIPatch(auth: .oidc, oidc: .some(short)), by: portico.actor)
            }
            await #expect(
                throws: PorticoError.invalid(field: "oidc.redirectPath", reason: "must be a path under the API's prefix, such as /callback")
            ) {
                try await apis.update(
                    api.id, APIPatch(auth: .oidc, oidc: .some(APIOIDCSettings(provider: "corp", redirectPath: "cb"))), by: portico.actor)
            }
            #expect(try await apis.get(api.id).auth == .default, "nothing was saved")
        }
    }

    @Test func withRefreshTheAccessTokenIsRefreshedOnceAcrossReplicasAndARefusedRefreshEndsTheSession() async throws {
        let refreshing: @Sendable (inout APIOIDCSettings) -> Void = { $0.session = .init(refresh: true) }
        try await withProtectedAPI(configure: refreshing) { provider, first, second, portico in
            // A refresh is due `refreshMarginSeconds` (5 s) before the access token runs out: with 10 s tokens a
            // session is not due for 5 s, room enough for the first call on a loaded machine, and each wait below
            // is counted from a moment the token was already issued.
            let lifetime = 10
            provider.setAccessTokenLifetime(lifetime)
            let notDueFor = Duration.seconds(Double(lifetime) - OIDCSessions.refreshMarginSeconds)
            let session = try await signIn(first, at: provider)
            let signedIn = ContinuousClock.now
            let cookie = [("Cookie", "\(session.name)=\(session.value)")]
            #expect(try await first.get("/app/page", headers: cookie).status == 200)
            #expect(provider.refreshes == 0, "not due yet")
            let stored = try await portico.store.read { connection in
                try await connection.query("SELECT refresh_token FROM gateway_oidc_sessions", logger: portico.database.logger)
                    .decode(String?.self).reduce("") { $0 + ($1 ?? "") }
            }
            #expect(stored.hasPrefix(SecretBox.storedPrefix), "the refresh token is stored sealed")

            try await Task.sleep(until: signedIn + notDueFor + .milliseconds(300))
            async let fromFirst = first.get("/app/page", headers: cookie)
            async let fromSecond = second.get("/app/page", headers: cookie)
            let statuses = try await (fromFirst.status, fromSecond.status)
            #expect(statuses == (200, 200))
            #expect(provider.refreshes == 1, "one replica refreshed, the other saw it done")

            let refreshed = ContinuousClock.now
            provider.revokeRefreshTokens()
            try await Task.sleep(until: refreshed + notDueFor + .milliseconds(300))
            #expect(try await first.get("/app/page", headers: cookie).status == 401, "a refused refresh ends the session")
            let browser = try await ProviderBrowser.send(second.baseURL + "/app/page", headers: cookie + Self.browser)
            #expect(browser.status == 302, "a browser signs in again")
        }
    }
}
