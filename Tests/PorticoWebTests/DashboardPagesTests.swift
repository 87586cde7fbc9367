import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct DashboardPagesTests {
    @Test func theWholeModelCanBeBuiltThroughTheForms() async throws {
        try await withDashboard { web, portico in
            _ = try await web.signIn()
            try await web.get("/admin/apis")
            let api = try await web.post(
                "/admin/apis",
                [
                    ("name", "orders"), ("pathPrefix", "/orders"), ("upstream", "http://127.0.0.1:9000"), ("stripPrefix", "on"),
                    ("status", "published"),
                ])
            #expect(api.location == "/admin/apis")
            let apis = try await web.get("/admin/apis")
            #expect(apis.contains("Created API orders at /orders."))
            #expect(apis.contains("<code>/orders</code>"))

            try await web.get("/admin/groups")
            let group = try await web.post("/admin/groups", [("name", "buyers")])
            let groupPath = try #require(group.location)
            try await web.get("/admin/users")
            let user = try await web.post(
                "/admin/users", [("email", "ann@example.com"), ("name", "Ann"), ("role", "consumer"), ("groups", "buyers")])
            let userPath = try #require(user.location)
            #expect(try await web.get(groupPath).contains("ann@example.com"))

            try await web.get("/admin/accesses")
            let access = try await web.post(
                "/admin/accesses",
                [
                    ("name", "buyers-orders"), ("groups", "buyers"), ("apis", "orders"), ("limit", "10"), ("period", "1m"),
                    ("operations", "GET /orders/*\r\nPOST /orders"),
                ])
            #expect(access.location == "/admin/accesses")
            let accesses = try await web.get("/admin/accesses")
            #expect(accesses.contains("10 per minute"))
            #expect(accesses.contains("<td>GET /orders/*, POST /orders</td>"), "the operations the grant covers")

            try await web.get(userPath)
            let key = try await web.post(userPath + "/keys", [("name", "laptop"), ("expiresAt", "2099-12-31")])
            #expect(key.status == 200)
            #expect(key.contains("Portico keeps only its hash and cannot show it again"))
            let secret = try #require(
                key.html.range(of: #"value="pk_"#).map { range in
                    String(key.html[key.html.index(range.lowerBound, offsetBy: 7)...].prefix(46))
                })
            #expect(SecretFormat.apiKey.matches(secret))
            let detail = try await web.get(userPath)
            #expect(detail.contains("laptop"))
            #expect(!detail.contains(secret), "the secret is not shown again")

            let keys = try await web.get("/admin/keys")
            #expect(keys.contains("ann@example.com"))
            let userId = try #require(UUID(uuidString: String(userPath.dropFirst("/admin/users/".count))))
            let keyId = try #require(try await KeyService(store: portico.store).list(for: userId).first?.id)
            let confirm = try await web.get("/admin/keys/\(keyId)/revoke?back=/admin/users/\(userId)")
            #expect(confirm.contains("Revoke key laptop"))
            #expect(confirm.contains(#"name="back" value="/admin/users/\#(userId)""#))
            let revoked = try await web.post("/admin/keys/\(keyId)/revoke", [("back", "//evil.example/admin/")])
            #expect(revoked.location == "/admin/keys", "no redirect off the dashboard")
            #expect(try await web.get("/admin/keys").contains("revoked"))

            let audit = try await web.get("/admin/audit")
            for action in ["api.create", "group.create", "user.create", "access.create", "key.create", "key.revoke"] {
                #expect(audit.contains(action), "\(action)")
            }
        }
    }

    @Test func everyAdminPageRenders() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9000)
            let access = try await portico.grant("all", groups: ["buyers"])
            let (user, _) = try await portico.seedConsumer(groups: ["buyers"])
            let group = try #require(try await GroupService(store: portico.store).list().first)
            _ = try await web.signIn()
            let pages: [(String, String)] = [
                ("/admin", "Gateway requests by status"), ("/admin/users", "New user"), ("/admin/users/\(user.id)", "API keys"),
                ("/admin/users/\(user.id)/delete", "Delete user"), ("/admin/groups", "New group"), ("/admin/groups/\(group.id)", "Add a member"),
                ("/admin/apis", "New API"), ("/admin/apis/\(api.id)", "Delete API…"), ("/admin/accesses", "New access grant"),
                ("/admin/accesses/\(access.id)", "Delete access…"), ("/admin/keys", "test"), ("/admin/auth", "Claims mapping"),
                ("/admin/audit", "user.create"), ("/admin/groups/\(group.id)/members/\(user.id)/remove", "Remove member"),
            ]
            for (path, text) in pages {
                let page = try await web.get(path)
                #expect(page.status == 200, "\(path)")
                #expect(page.contains(text), "\(path) shows \(text)")
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            }
            let missing = try await web.get("/admin/users/\(UUID())")
            #expect(missing.status == 404)
            #expect(missing.contains("not found"))
            #expect(missing.contains("Sign out"), "an error page keeps the signed-in layout")
            #expect(try await web.get("/assets/portico.css").status == 200)
        }
    }

    @Test func listsPageAt50Rows() async throws {
        try await withDashboard { web, portico in
            try await portico.ensureGroups((1...51).map { String(format: "group-%02d", $0) })
            for index in 1...51 {
                _ = try await UserService(store: portico.store).create(
                    UserInput(email: String(format: "u%02d@example.com", index)), by: portico.actor)
            }
            _ = try await web.signIn()
            let firstGroups = try await web.get("/admin/groups")
            #expect(firstGroups.contains("Page 1 of 2 (51 in all)"))
            #expect(firstGroups.contains("group-50") && !firstGroups.contains("group-51"))
            #expect(try await web.get("/admin/groups?page=2").contains("group-51"))
            let users = try await web.get("/admin/users")
            #expect(users.contains("Page 1 of 2 (52 in all)"), "51 users and the admin")
            #expect(users.contains(#"href="/admin/users?page=2" rel="next""#))
            let secondUsers = try await web.get("/admin/users?page=2")
            #expect(secondUsers.contains("u51@example.com"))
            #expect(try await web.get("/admin/users?search=u5").contains("u51@example.com"))
        }
    }

    @Test func userInputIsEscapedEverywhere() async throws {
        try await withDashboard { web, portico in
            _ = try await web.signIn()
            try await web.get("/admin/users")
            let created = try await web.post("/admin/users", [("email", "eve@example.com"), ("name", "<script>alert(1)</script>")])
            let page = try await web.get(try #require(created.location))
            #expect(!page.contains("<script>alert(1)</script>"))
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let list = try await web.get("/admin/users?search=%3Cscript")
            #expect(list.contains("&lt;script&gt;"))
            #expect(!list.contains("<script>alert"))
            _ = portico
        }
    }

    @Test func invalidInputComesBackWithTheValuesAndAMessageByTheField() async throws {
        try await withDashboard { web, portico in
            _ = try await web.signIn()
            try await web.get("/admin/apis")
            let bad = try await web.post("/admin/apis", [("name", "orders"), ("pathPrefix", "orders"), ("upstream", "http://127.0.0.1:9000")])
            #expect(bad.status == 422)
            #expect(bad.contains(#"<p class="field-error">"#))
            #expect(bad.contains("must start with /") || bad.contains("pathPrefix"))
            #expect(bad.contains(#"value="orders""#))
            #expect(bad.contains(#"value="http://127.0.0.1:9000""#))
            #expect(try await APIService(store: portico.store).list().isEmpty, "nothing was stored")

            try await portico.ensureGroups(["buyers"])
            try await web.get("/admin/accesses")
            let period = try await web.post(
                "/admin/accesses",
                [
                    ("name", "a"), ("groups", "buyers"), ("allApis", "on"), ("limit", "5"), ("period", "fortnight"),
                ])
            #expect(period.status == 422)
            #expect(period.contains(#"id="access-period" name="period" value="fortnight" aria-invalid="true""#))
            #expect(period.contains("is not a period"))
            let operations = try await web.post(
                "/admin/accesses", [("name", "a"), ("groups", "buyers"), ("allApis", "on"), ("operations", "tag:read")])
            #expect(operations.status == 422)
            #expect(operations.contains("tags and operation ids need an OpenAPI document"))
            #expect(operations.contains(">tag:read</textarea>"), "the entry stays in the form")
            #expect(try await AccessService(store: portico.store).list().isEmpty)
        }
    }

    @Test func switchingToJWTShowsWhatItTurnsOffAndAsksFirst() async throws {
        try await withDashboard { web, portico in
            _ = try await portico.seedConsumer(groups: ["buyers"])
            _ = try await web.signIn()
            try await web.get("/admin/auth")
            let secret = String(repeating: "dashboard secret ", count: 3)
            let fields: [(String, String)] = [
                ("mode", "jwt"), ("keySource", "signingSecret"), ("keyValue", secret), ("userId", "sub"), ("groups", "groups"),
                ("header", "Authorization"), ("strictness", "strict"), ("forwardHeaders", "X-User-Email: email"),
            ]
            let confirm = try await web.post("/admin/auth", fields)
            #expect(confirm.status == 200)
            #expect(confirm.contains("Switching to JWT mode turns off <strong>1</strong> API key(s)"))
            #expect(try await AuthSettingsService(store: portico.store, secretBox: portico.secretBox).current().mode == .apiKey)

            let switched = try await web.post("/admin/auth", fields + [("confirmed", "1")])
            #expect(switched.location == "/admin/auth")
            let after = try await web.get("/admin/auth")
            #expect(after.contains("JWT mode is on; 1 API key was turned off."))
            #expect(!after.contains(secret), "the stored secret is never sent back")
            #expect(after.contains("A secret is stored; leave empty to keep it"))
            let current = try await AuthSettingsService(store: portico.store, secretBox: portico.secretBox).current()
            #expect(current.mode == .jwt)
            #expect(current.jwt?.forwardHeaders == ["X-User-Email": "email"])

            let badExpression = try await web.post(
                "/admin/auth", [("mode", "jwt"), ("keySource", "signingSecret"), ("secretIsSet", "1"), ("claims", "Equals(`a`")])
            #expect(badExpression.status == 422)
            #expect(badExpression.contains("at position 11"))
        }
    }
}

@Suite struct PortalTests {
    @Test func anInvitedConsumerSetsAPasswordSeesTheirAPIsAndManagesKeys() async throws {
        try await withDashboard { web, portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9000)
            try await portico.createAPI("hidden", prefix: "/hidden", upstreamPort: 9000)
            try await portico.grant("buyers-orders", groups: ["buyers"], apis: ["orders"], limit: 100, period: "1h")
            try await portico.ensureGroups(["buyers"])
            let ann = try await UserService(store: portico.store).create(UserInput(email: "ann@example.com", groups: ["buyers"]), by: portico.actor)
            let token = try await InvitationService(store: portico.store).invite(ann.id, by: portico.actor)

            let invite = try await web.get("/portal/invite/\(token)")
            #expect(invite.contains("Choose a password for ann@example.com"))
            let short = try await web.post("/portal/invite/\(token)", [("password", "short")])
            #expect(short.status == 422)
            #expect(short.contains("at least 12 characters"))
            let set = try await web.post("/portal/invite/\(token)", [("password", "ann's long password")])
            #expect(set.location == "/portal/sign-in")
            #expect(try await web.get("/portal/invite/\(token)").status == 404, "a link works once")

            let signedIn = try await web.signIn("ann@example.com", password: "ann's long password", area: "portal")
            #expect(signedIn.location == "/portal")
            let apis = try await web.get("/portal")
            #expect(apis.contains("orders"))
            #expect(apis.contains("100 per hour"))
            #expect(
                apis.contains("curl -H &#39;Authorization: Bearer $PORTICO_KEY&#39; http://127.0.0.1:8000/orders")
                    || apis.contains("curl -H &#x27;Authorization"))
            #expect(!apis.contains("/hidden"))
            #expect(!apis.contains(" on </td>"))

            try await web.get("/portal/keys")
            let created = try await web.post("/portal/keys", [("name", "cli")])
            #expect(created.contains("Copy your key now"))
            #expect(created.contains(#"data-copy="secret""#))
            let keys = try await KeyService(store: portico.store).list(for: ann.id)
            #expect(keys.count == 1)
            #expect(try await web.get("/portal/keys/\(keys[0].id)/revoke").contains("Revoke your key cli"))
            #expect(try await web.post("/portal/keys/\(keys[0].id)/revoke").location == "/portal/keys")
            #expect(try await KeyService(store: portico.store).list(for: ann.id).first?.state == .revoked)

            // Someone else's key cannot be revoked from here.
            let (_, _) = try await portico.seedConsumer(email: "bob@example.com", groups: ["buyers"])
            let bob = try #require(try await UserService(store: portico.store).list(search: "bob").first)
            let bobsKey = try #require(try await KeyService(store: portico.store).list(for: bob.id).first)
            try await web.get("/portal/keys")
            #expect(try await web.get("/portal/keys/\(bobsKey.id)/revoke").status == 404)
            #expect(try await web.post("/portal/keys/\(bobsKey.id)/revoke").status == 404)

            let tokenPage = try await web.get("/portal/token")
            #expect(tokenPage.contains("API-key mode"))
        }
    }

    @Test func inJWTModeThePortalExplainsTheExpectedClaims() async throws {
        try await withDashboard { web, portico in
            try await portico.useJWT(
                ["signingSecret": String(repeating: "portal secret ", count: 3), "issuer": "https://idp.example"],
                claimsMapping: ["groups": "realm_access.roles"])
            let user = try await UserService(store: portico.store).create(UserInput(email: "t@example.com"), by: portico.actor)
            try await setPassword("token user password", for: user.id, in: portico)
            _ = try await web.signIn("t@example.com", password: "token user password", area: "portal")
            let page = try await web.get("/portal/token")
            #expect(page.contains("<code>realm_access.roles</code>"))
            #expect(page.contains("https://idp.example"))
            #expect(page.contains("No token of yours has reached the gateway yet."))
        }
    }
}
