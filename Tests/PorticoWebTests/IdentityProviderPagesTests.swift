import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The dashboard's identity-provider pages, against a real discovery endpoint.
@Suite struct IdentityProviderPagesTests {
    @Test func aProviderIsDiscoveredCreatedEditedAndDeletedThroughTheForms() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withDashboard { web, _ in
                _ = try await web.signIn()
                let empty = try await web.get("/admin/identity-providers")
                #expect(empty.contains("No identity providers yet."))
                let created = try await web.post(
                    "/admin/identity-providers",
                    [
                        ("name", "corp"), ("issuer", issuer), ("clientId", "portico"), ("clientSecret", "a literal client secret"),
                        ("scopes", "openid profile email"), ("groupsClaim", "realm_access.roles"), ("userIdClaim", "sub"),
                        ("signInPortal", "on"), ("adminGroups", "platform, ops"), ("authParams", "prompt=login"),
                    ])
                let path = try #require(created.location)
                let detail = try await web.get(path)
                #expect(detail.contains("Created identity provider corp."))
                #expect(detail.contains("<code>\(issuer)/authorize</code>"))
                #expect(detail.contains("<code>\(TestPortico.publicURL)/oidc/corp/callback</code>"), "the redirect URI to register")
                #expect(detail.contains(#"value="realm_access.roles""#))
                #expect(detail.contains(#"value="platform, ops""#))
                #expect(detail.contains("stored; leave empty to keep it"))
                #expect(!detail.contains("a literal client secret"), "the secret is never sent back")
                #expect(try await web.get("/admin/identity-providers").contains("portal sign-in"))
                #expect(!(try await web.get("/admin/auth")).contains("are accepted too"), "not trusted for tokens yet")

                provider.override("issuer", with: .string("https://other.example"))
                let refused = try await web.post(
                    path, [("name", "corp"), ("issuer", issuer), ("clientId", "portico-2"), ("groupsClaim", "groups"), ("userIdClaim", "sub")])
                #expect(refused.status == 422)
                #expect(refused.contains("https://other.example"))
                #expect(refused.contains(#"value="portico-2""#), "the entered values come back")

                provider.override("issuer", with: .string(issuer))
                let saved = try await web.post(
                    path, [("name", "corp"), ("issuer", issuer), ("clientId", "portico-2"), ("groupsClaim", "groups"), ("userIdClaim", "sub")])
                #expect(saved.location == path)
                let edited = try await web.get(path)
                #expect(edited.contains(#"value="portico-2""#))
                #expect(edited.contains("stored; leave empty to keep it"), "an empty secret field kept the stored secret")
                #expect(!edited.contains(#"value="platform, ops""#), "cleared fields are cleared")
                try await web.post(
                    path,
                    [
                        ("name", "corp"), ("issuer", issuer), ("clientId", "portico-2"), ("groupsClaim", "groups"), ("userIdClaim", "sub"),
                        ("acceptTokens", "on"),
                    ])
                let auth = try await web.get("/admin/auth")
                #expect(auth.contains("are accepted too") && auth.contains("<strong>corp</strong>"))

                try await web.get(path + "/delete")
                let deleted = try await web.post(path + "/delete")
                #expect(deleted.location == "/admin/identity-providers")
                #expect(try await web.get("/admin/identity-providers").contains("No identity providers yet."))
            }
        }
    }

    @Test func jwtModeCanTrustOnlyProvidersAndAnAPICanNarrowThemThroughTheForms() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withDashboard { web, portico in
                _ = try await web.signIn()
                try await web.get("/admin/auth")
                let alone = try await web.post("/admin/auth", [("mode", "jwt"), ("keySource", "identityProviders"), ("confirmed", "on")])
                #expect(alone.status == 422)
                #expect(alone.contains("or an identity provider with acceptTokens"))

                var settings = IdentityProviderSettings(name: "corp", issuer: issuer)
                settings.clientId = "portico"
                settings.acceptTokens = true
                _ = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(settings, by: portico.actor)
                let saved = try await web.post("/admin/auth", [("mode", "jwt"), ("keySource", "identityProviders"), ("confirmed", "on")])
                #expect(saved.status == 303)
                let auth = try await web.get("/admin/auth")
                #expect(auth.contains(#"<option value="identityProviders" selected>"#))
                #expect(try await AuthSettingsService(store: portico.store, secretBox: portico.secretBox).current().jwt == nil)

                let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
                let fields = [("name", "orders"), ("pathPrefix", "/orders"), ("upstream", "http://127.0.0.1:9"), ("status", "published")]
                let unknown = try await web.post("/admin/apis/\(api.id)", fields + [("tokenProviders", "corp, nobody")])
                #expect(unknown.status == 422)
                #expect(unknown.contains("no identity provider named &#39;nobody&#39;") || unknown.contains("no identity provider named 'nobody'"))
                try await web.post("/admin/apis/\(api.id)", fields + [("tokenProviders", "corp")])
                #expect(try await web.get("/admin/apis/\(api.id)").contains(#"name="tokenProviders" value="corp""#))
                #expect(try await APIService(store: portico.store).get(api.id).tokenProviders == ["corp"])

                let oidcFields = fields + [("tokenProviders", "corp"), ("auth", "oidc"), ("oidcProvider", "corp")]
                let badPath = try await web.post("/admin/apis/\(api.id)", oidcFields + [("oidcRedirectPath", "callback")])
                #expect(badPath.status == 422)
                #expect(badPath.text.contains("must be a path under the API's prefix"))
                try await web.post("/admin/apis/\(api.id)", oidcFields + [("oidcRedirectPath", "/callback"), ("oidcLogoutPath", "/bye")])
                let protected = try await APIService(store: portico.store).get(api.id)
                #expect(protected.auth == .oidc && protected.oidc?.provider == "corp" && protected.oidc?.logoutPath == "/bye")
                let page = try await web.get("/admin/apis/\(api.id)")
                #expect(page.contains(#"<option value="oidc" selected>"#) && page.contains(#"<option value="corp" selected>"#))
                try await web.post("/admin/apis/\(api.id)", fields + [("tokenProviders", "corp"), ("auth", "default")])
                #expect(try await APIService(store: portico.store).get(api.id).auth == .default)
            }
        }
    }

    @Test func consumersCannotOpenIdentityProviderPages() async throws {
        try await withDashboard { web, portico in
            let consumer = try await UserService(store: portico.store).create(UserInput(email: "c@example.com"), by: portico.actor)
            try await setPassword("consumer password 1", for: consumer.id, in: portico)
            _ = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")
            let refused = try await web.get("/admin/identity-providers")
            #expect(refused.status == 403)
        }
    }
}
