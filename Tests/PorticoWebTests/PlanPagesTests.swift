import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct PlanPagesTests {
    @Test func adminsCreatePlansGiveThemToGrantsAndSeeWhichGrantsUseThem() async throws {
        try await withDashboard { web, portico in
            _ = try await web.signIn()
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9000)
            try await portico.ensureGroups(["buyers"])
            #expect(try await web.get("/admin/plans").contains("No plans yet."))

            let bad = try await web.post(
                "/admin/plans", [("name", "gold"), ("limit", ""), ("period", "1m"), ("quotaLimit", "lots"), ("quotaPeriod", "month")])
            #expect(bad.status == 422)
            #expect(bad.contains("&#39;lots&#39; is not a whole number") || bad.contains("&#x27;lots&#x27; is not a whole number"))
            let created = try await web.post(
                "/admin/plans",
                [
                    ("name", "gold"), ("description", "Partners"), ("limit", "100"), ("period", "1m"), ("quotaLimit", "10000"),
                    ("quotaPeriod", "month"), ("bucket", "consumer"),
                ])
            let planPath = try #require(created.location)
            let list = try await web.get("/admin/plans")
            #expect(list.contains("100 per minute"))
            #expect(list.contains("10000 per month"))
            #expect(list.contains("consumer"))

            try await web.get("/admin/accesses")
            let grant = try await web.post(
                "/admin/accesses", [("name", "buyers-orders"), ("groups", "buyers"), ("apis", "orders"), ("plan", "gold"), ("limit", "")])
            #expect(grant.location == "/admin/accesses")
            let accesses = try await web.get("/admin/accesses")
            #expect(accesses.contains("<td>gold</td>"))
            #expect(accesses.contains("the plan&#39;s") || accesses.contains("the plan&#x27;s"))
            let detail = try await web.get(planPath)
            #expect(detail.contains("buyers-orders"))
            #expect(detail.contains(#"<option value="consumer" selected>"#))

            let refused = try await web.post(planPath + "/delete")
            #expect(refused.status == 409)
            #expect(refused.contains("buyers-orders"))
            let edited = try await web.post(
                planPath,
                [("name", "gold"), ("limit", "5"), ("period", "1s"), ("quotaLimit", ""), ("quotaPeriod", "month"), ("bucket", "consumer-api")])
            #expect(edited.location == planPath)
            #expect(try await web.get("/admin/plans").contains("no quota"))
        }
    }

    @Test func thePortalShowsEachAPIsPlanAndTheQuotaLeftThisPeriod() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9000)
            try await portico.ensureGroups(["buyers"])
            let plan = try await PlanService(store: portico.store).create(
                PlanInput(name: "daily", quota: .some(QuotaInput(limit: 100, period: "24h"))), by: portico.actor)
            try await AccessService(store: portico.store).create(
                AccessInput(name: "buyers", groups: ["buyers"], allApis: true, plan: "daily"), by: portico.actor)
            let ann = try await UserService(store: portico.store).create(UserInput(email: "ann@example.com", groups: ["buyers"]), by: portico.actor)
            try await setPassword("ann's long password", for: ann.id, in: portico)

            // Seven calls counted today, as a gateway's sync reports them.
            let window = QuotaPeriod.day.window(containing: Int64(Date().timeIntervalSince1970))
            let bucket = QuotaBucketName.of(plan: plan.id, consumer: ann.id, api: api.id)
            _ = try await portico.store.read { connection in
                try await QuotaRepository(logger: portico.database.logger).report(
                    [QuotaCounterReport(bucket: bucket, window: window, limit: 100, spent: 7, unreserve: 0, want: 0)], on: connection)
            }

            _ = try await web.signIn("ann@example.com", password: "ann's long password", area: "portal")
            let page = try await web.get("/portal")
            #expect(page.contains("<td>daily</td>"))
            #expect(page.contains("100 per day"))
            #expect(page.contains("93 left, resets \(Self.utc(window.end))"))
            #expect(page.contains(#"<svg class="chart" role="img""#), "the usage charts, drawn on the server")
            #expect(page.contains("Calls per day by status class, all your APIs"))
        }
    }

    static func utc(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
