import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The portal's keys page with applications, scoped keys, rotation and expiry warnings, and the dashboard's key
/// policy, as a consumer and an admin use them.
@Suite struct PortalKeysPagesTests {
    @Test func aConsumerGroupsKeysInApplicationsScopesThemAndRotatesOne() async throws {
        try await withDashboard { web, portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
            try await portico.createAPI("billing", prefix: "/billing", upstreamPort: 9)
            try await portico.grant("buyers", groups: ["buyers"], apis: ["orders", "billing"])
            let (consumer, _) = try await portico.seedConsumer(email: "c@example.com", groups: ["buyers"])
            try await setPassword("consumer password 1", for: consumer.id, in: portico)
            _ = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")

            let page = try await web.get("/portal/keys")
            #expect(page.html.contains(#"<h2 id="application-"#) && page.html.contains(">default</h2>"))
            let created = try await web.post("/portal/applications", [("name", "mobile"), ("description", "iOS app")])
            #expect(created.status == 303 || created.status == 302)
            let duplicate = try await web.post("/portal/applications", [("name", "mobile")])
            #expect(duplicate.status == 422)
            let apps = try await ApplicationService(store: portico.store).list(for: consumer.id)
            let mobile = try #require(apps.first { $0.name == "mobile" })

            let soon = Date().addingTimeInterval(5 * 86_400).formatted(.iso8601.year().month().day())
            let issued = try await web.post(
                "/portal/keys",
                [("name", "phone"), ("application", mobile.id.uuidString), ("expiresAt", soon), ("scoped", "1"), ("scopes", "orders")])
            #expect(issued.text.contains("Copy your key now"))
            let listed = try await web.get("/portal/keys")
            #expect(listed.text.contains("<td>phone</td>"))
            #expect(listed.text.contains("<td>orders</td>"), "the key's scopes")
            let phone = try #require(try await KeyService(store: portico.store).list(for: consumer.id).first { $0.name == "phone" })
            let daysLeft = try #require(KeyExpiry.daysLeftToWarn(expiresAt: phone.expiresAt, now: Date()))
            #expect((5...6).contains(daysLeft), "the end of the day five days ahead")
            #expect(listed.text.contains("expires in \(daysLeft) days"))
            let noScope = try await web.post("/portal/keys", [("name", "x"), ("scoped", "1")])
            #expect(noScope.status == 422)
            #expect(noScope.text.contains("name at least one API"))

            let confirm = try await web.get("/portal/keys/\(phone.id)/rotate")
            #expect(confirm.text.contains("The old key keeps working for"))
            let rotated = try await web.post("/portal/keys/\(phone.id)/rotate", [("overlapSeconds", "86400")])
            #expect(rotated.text.contains("Copy your key now"))
            #expect(rotated.text.contains("Your old key \(phone.prefix)… works until"))
            let after = try await KeyService(store: portico.store).list(for: consumer.id)
            let successor = try #require(after.first { $0.rotatedFrom == phone.id })
            #expect(successor.applicationId == mobile.id)
            #expect(successor.scopes == phone.scopes)
            let old = try #require(after.first { $0.id == phone.id })
            #expect(abs((old.expiresAt ?? .distantPast).timeIntervalSinceNow - 86_400) < 120)

            // Another consumer's key is not this one's to rotate.
            let (other, _) = try await portico.seedConsumer(email: "o@example.com", groups: ["buyers"])
            let foreign = try #require(try await KeyService(store: portico.store).list(for: other.id).first)
            #expect(try await web.post("/portal/keys/\(foreign.id)/rotate", [("overlapSeconds", "0")]).status == 404)
        }
    }

    @Test func theDashboardSetsTheKeyPolicyAndTheKeysPageNamesApplications() async throws {
        try await withDashboard { web, portico in
            _ = try await portico.seedConsumer(email: "c@example.com", groups: [])
            _ = try await web.signIn()
            let keys = try await web.get("/admin/keys")
            #expect(keys.text.contains("<td>default</td>"))
            #expect(keys.text.contains("Key policy"))
            let bad = try await web.post("/admin/key-policy", [("maxKeyLifetimeDays", "ten")])
            #expect(bad.status == 422)
            #expect(bad.text.contains("is not a whole number of days"))
            let saved = try await web.post("/admin/key-policy", [("maxKeyLifetimeDays", "30"), ("requireExpiry", "1")])
            #expect(saved.status == 303 || saved.status == 302)
            #expect(try await KeyPolicyService(store: portico.store).current() == KeyPolicy(maxKeyLifetimeDays: 30, requireExpiry: true))
            #expect(try await web.get("/admin/keys").html.contains(#"value="30""#))
        }
    }
}
