import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct DashboardSessionTests {
    @Test func withoutASessionAdminPagesSendToSignIn() async throws {
        try await withDashboard { web, _ in
            #expect(try await web.get("/admin").location == "/admin/sign-in")
            for path in ["/admin/users", "/admin/auth", "/admin/audit", "/admin/groups", "/admin/apis", "/admin/accesses", "/admin/keys"] {
                let page = try await web.get(path)
                #expect(page.status == 303, "\(path)")
                #expect(page.location == "/admin/sign-in?return=" + path, "\(path)")
            }
            try await web.get("/admin/sign-in")
            let posted = try await web.post("/admin/users", [("email", "x@example.com")])
            #expect(posted.status == 303)
            #expect(posted.location == "/admin/sign-in", "a form posted without a session is not replayed after sign-in")
            let signIn = try await web.get("/admin/sign-in")
            #expect(signIn.status == 200)
            #expect(signIn.contains(#"<label for="email">Email</label>"#))
            #expect(web.cookies["portico_csrf"] != nil)
        }
    }

    @Test func signInSetsASafeCookieAndSignOutEndsTheSession() async throws {
        try await withDashboard { web, portico in
            let wrong = try await web.signIn(password: "not the password")
            #expect(wrong.status == 401)
            #expect(wrong.contains("The email or the password is not right."))
            #expect(wrong.contains(#"value="admin@example.com""#), "the email is kept")

            let signedIn = try await web.signIn()
            #expect(signedIn.status == 303)
            #expect(signedIn.location == "/admin")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("portico_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))
            let stored = try await portico.store.read { connection in
                try await connection.query("SELECT count(*) FROM web_sessions", logger: portico.database.logger).decode(Int.self).reduce(0, +)
            }
            #expect(stored == 1)

            let overview = try await web.get("/admin")
            #expect(overview.status == 200)
            #expect(overview.contains("Policy version"))
            #expect(overview.contains("admin@example.com"))

            let session = try #require(web.cookies["portico_session"])
            let out = try await web.post("/admin/sign-out")
            #expect(out.location == "/admin/sign-in")
            web.setCookie("portico_session", session)
            #expect(try await web.get("/admin").location == "/admin/sign-in", "the old cookie no longer works")
        }
    }

    @Test func aSessionEndsAfterIdleTime() async throws {
        try await withDashboard(sessions: .init(idleSeconds: 60)) { web, portico in
            _ = try await web.signIn()
            #expect(try await web.get("/admin").status == 200)
            try await portico.store.read { connection in
                try await connection.query("UPDATE web_sessions SET last_seen_at = now() - interval '61 seconds'", logger: portico.database.logger)
            }
            #expect(try await web.get("/admin").location == "/admin/sign-in")
        }
    }

    @Test func secureCookiesBehindATLSProxy() async throws {
        try await withTestPortico { portico in
            try await setPassword(adminPassword, for: portico.admin.id, in: portico)
            let app = try buildControlPlane(
                configuration: .init(port: 0, secureCookies: true), store: portico.store, policy: portico.policy,
                registry: portico.registry, gatewayMetrics: portico.metrics, pages: portico.pages, logger: TestDatabase.logger)
            try await app.test(.router) { client in
                let web = WebClient(client)
                let page = try await web.signIn()
                #expect(page.headers[values: .setCookie].first { $0.hasPrefix("portico_session=") }?.contains("Secure") == true)
            }
        }
    }

    @Test func repeatedFailuresAreSlowedThenRefusedForAWhile() async throws {
        try await withDashboard { web, _ in
            for _ in 0..<4 { #expect(try await web.signIn(password: "wrong").status == 401) }
            let locked = try await web.signIn(password: "wrong")
            #expect(locked.status == 429)
            #expect(locked.contains("Too many failed sign-ins. Sign-in is refused for 15 minutes"))
            let evenRight = try await web.signIn()
            #expect(evenRight.status == 429, "the right password does not lift the lock")
        }
    }

    @Test func aFormWithoutTheSessionsTokenIsRefused() async throws {
        try await withDashboard { web, portico in
            _ = try await web.signIn()
            try await web.get("/admin/users")
            let missing = try await web.post("/admin/users", [("email", "x@example.com")], csrf: "")
            #expect(missing.status == 403)
            #expect(missing.contains("This form expired or did not come from Portico"))
            let forged = try await web.post("/admin/users", [("email", "x@example.com")], csrf: SecretFormat.csrf.generate().secret)
            #expect(forged.status == 403)
            #expect(try await UserService(store: portico.store).list().count == 1, "nothing was created")
            // A sign-in form posted without the browser's own token cookie is refused too.
            web.forget("portico_csrf")
            web.forget("portico_session")
            #expect(try await web.post("/admin/sign-in", [("email", "admin@example.com"), ("password", adminPassword)]).status == 403)
        }
    }

    @Test func signInGoesBackToThePageThatAskedForIt() async throws {
        try await withDashboard { web, _ in
            let asked = try await web.get("/admin/users?search=ada&page=2")
            #expect(asked.location == "/admin/sign-in?return=/admin/users?search%3Dada%26page%3D2")
            let form = try await web.get(try #require(asked.location))
            #expect(form.contains(#"name="return" value="/admin/users?search=ada&amp;page=2""#))
            let signedIn = try await web.post(
                "/admin/sign-in", [("email", "admin@example.com"), ("password", adminPassword), ("return", "/admin/users?search=ada&page=2")])
            #expect(signedIn.location == "/admin/users?search=ada&page=2")
        }
    }

    @Test func thePortalSendsBackToItsOwnPageAfterSignIn() async throws {
        try await withDashboard { web, portico in
            let consumer = try await UserService(store: portico.store).create(UserInput(email: "c@example.com"), by: portico.actor)
            try await setPassword("consumer password 1", for: consumer.id, in: portico)
            let asked = try await web.get("/portal/keys")
            #expect(asked.location == "/portal/sign-in?return=/portal/keys")
            try await web.get(try #require(asked.location))
            let signedIn = try await web.post(
                "/portal/sign-in", [("email", "c@example.com"), ("password", "consumer password 1"), ("return", "/portal/keys")])
            #expect(signedIn.location == "/portal/keys")
            #expect(try await web.get("/portal/keys").status == 200)
        }
    }

    @Test func signInNeverReturnsToAnotherSiteOrArea() async throws {
        for target in ["//evil.example/admin", "https://evil.example/admin", "/admin//evil.example", "/admin\\evil", "/portal/keys", "/adminx"] {
            try await withDashboard { web, _ in
                #expect(!(try await web.get("/admin/sign-in?return=\(target)")).contains(#"name="return""#), "\(target)")
                try await web.get("/admin/sign-in")
                let signedIn = try await web.post(
                    "/admin/sign-in", [("email", "admin@example.com"), ("password", adminPassword), ("return", target)])
                #expect(signedIn.location == "/admin", "\(target)")
            }
        }
    }

    @Test func consumersCannotOpenAdminPages() async throws {
        try await withDashboard { web, portico in
            let consumer = try await UserService(store: portico.store).create(UserInput(email: "c@example.com"), by: portico.actor)
            try await setPassword("consumer password 1", for: consumer.id, in: portico)
            let refused = try await web.signIn("c@example.com", password: "consumer password 1")
            #expect(refused.status == 403)
            #expect(refused.contains("is not an admin"))
            #expect(web.cookies["portico_session"] == nil)

            let portal = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")
            #expect(portal.location == "/portal")
            for path in ["/admin", "/admin/users", "/admin/auth", "/admin/keys", "/admin/audit"] {
                let admin = try await web.get(path)
                #expect(admin.status == 403, "\(path)")
                #expect(admin.contains("this page is for admins"), "\(path)")
            }
            #expect(try await web.post("/admin/users", [("email", "x@example.com")]).status == 403)
            #expect(try await UserService(store: portico.store).list().count == 2, "the consumer created nobody")
        }
    }
}
