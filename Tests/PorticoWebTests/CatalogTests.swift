import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The portal's catalog and access requests: who sees which API, a request under an offered plan, the admin's
/// approval (a grant for the consumer's own group, under that plan) and the first call that follows, rejection
/// with a reason, and approval at once.
@Suite struct CatalogTests {
    /// A control plane with an admin signed in to the dashboard and a consumer in `partners` (with a key) signed in
    /// to the portal; APIs `orders` (seen by partners, plan silver offered) and `internal` (private), neither granted
    /// to anyone, on the echo upstream.
    func withCatalog(
        _ body: @escaping @Sendable (_ admin: WebClient, _ consumer: WebClient, AdminClient, TestPortico, _ key: String, User) async throws -> Void
    ) async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await setPassword(adminPassword, for: portico.admin.id, in: portico)
                let orders = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("internal", prefix: "/internal", upstreamPort: upstream)
                _ = try await PlanService(store: portico.store).create(
                    PlanInput(name: "silver", rateLimit: .some(RateLimitInput(limit: 7, period: "1m"))), by: portico.actor)
                let (consumer, key) = try await portico.seedConsumer(email: "p@example.com", groups: ["partners"])
                try await setPassword("partner password 1", for: consumer.id, in: portico)
                _ = try await CatalogService(store: portico.store).save(
                    APICatalogSettings(visibility: .groups(["partners"]), plans: ["silver"]), of: orders.id, by: portico.actor)
                try await portico.controlPlane().test(.router) { client in
                    let admin = WebClient(client)
                    _ = try await admin.signIn()
                    let partner = WebClient(client)
                    _ = try await partner.signIn("p@example.com", password: "partner password 1", area: "portal")
                    try await body(admin, partner, AdminClient(client: client, token: portico.adminToken), portico, key, consumer)
                }
            }
        }
    }

    @Test func aRequestApprovedOnTheDashboardGrantsTheAPIUnderItsPlanAndTheFirstCallPasses() async throws {
        try await withCatalog { admin, partner, api, portico, key, consumer in
            let catalog = try await partner.get("/portal/catalog")
            #expect(catalog.contains("orders"))
            #expect(catalog.contains("Request access"))
            #expect(!catalog.contains("internal"), "a private API is seen only by those with access")
            let orders = try await api.call(.get, "/apis").array.first { $0["name"] as? String == "orders" }
            let ordersId = try #require(orders?["id"] as? String)

            let unoffered = try await partner.post("/portal/catalog/\(ordersId)/request", [("plan", "gold"), ("reason", "reports")])
            #expect(unoffered.status == 422)
            #expect(unoffered.text.contains("API 'orders' does not offer plan 'gold'"))
            let sent = try await partner.post("/portal/catalog/\(ordersId)/request", [("plan", "silver"), ("reason", "monthly reports")])
            #expect(sent.status == 303)
            let waiting = try await partner.get("/portal/catalog")
            #expect(waiting.contains("request pending"))
            #expect(!waiting.contains("Request access"))
            let again = try await api.call(
                .post, "/access-requests", #"{"userId":"\#(consumer.id)","api":"orders","plan":"silver","reason":"twice"}"#)
            #expect(again.status == .conflict)

            let pending = try await api.call(.get, "/access-requests?status=pending").array
            #expect(pending.count == 1)
            #expect(pending.first?["reason"] as? String == "monthly reports")
            #expect(try await admin.get("/admin").contains(#"<span class="number">1</span> access requests waiting"#))
            let requests = try await admin.get("/admin/access-requests")
            #expect(requests.contains("monthly reports"))
            let requestId = try #require(pending.first?["id"] as? String)
            let audited = try await auditCount(portico)
            let approved = try await admin.post("/admin/access-requests/\(requestId)/approve")
            #expect(approved.status == 303)
            #expect(try await auditCount(portico) == audited + 1, "the approval, its group and its grant are one audited change")

            let decided = try await api.call(.get, "/access-requests/\(requestId)").json
            #expect(decided["status"] as? String == "approved")
            #expect(decided["grant"] as? String == "request:\(requestId.lowercased())")
            let grant = try await api.call(.get, "/accesses").array.first { $0["name"] as? String == "request:\(requestId.lowercased())" }
            #expect(grant?["plan"] as? String == "silver")
            #expect(grant?["groups"] as? [String] == [AccessRequest.consumerGroup(of: consumer.id)])
            #expect(try await api.call(.post, "/access-requests/\(requestId)/approve").status == .conflict, "decided once")

            await portico.reloadPolicy()
            try await portico.withGateway { gateway in
                let call = try await gateway.get("/orders/1", key: key)
                #expect(call.status == 200)
                #expect(call.header("X-RateLimit-Limit") == "7", "the plan asked for")
            }
            #expect(try await partner.get("/portal/catalog").contains("you have access"))
        }
    }

    @Test func aRejectedRequestTellsTheConsumerWhyAndAPublicAutoApprovedAPIIsGrantedAtOnce() async throws {
        try await withCatalog { admin, partner, api, _, _, _ in
            let ordersId = try #require(try await api.call(.get, "/apis").array.first { $0["name"] as? String == "orders" }?["id"] as? String)
            let internalId = try #require(try await api.call(.get, "/apis").array.first { $0["name"] as? String == "internal" }?["id"] as? String)
            _ = try await partner.get("/portal/catalog")
            let asked = try await partner.post("/portal/catalog/\(ordersId)/request", [("plan", "silver"), ("reason", "testing")])
            #expect(asked.status == 303)
            let requestId = try #require(try await api.call(.get, "/access-requests?status=pending").array.first?["id"] as? String)
            _ = try await admin.get("/admin/access-requests")
            let noReason = try await admin.post("/admin/access-requests/\(requestId)/reject", [("reason", " ")])
            #expect(noReason.status == 422)
            #expect(noReason.contains("tell the consumer why"))
            #expect(try await admin.post("/admin/access-requests/\(requestId)/reject", [("reason", "use the sandbox first")]).status == 303)
            let rejected = try await partner.get("/portal/catalog")
            #expect(rejected.contains("request rejected"))
            #expect(rejected.contains("use the sandbox first"))
            #expect(rejected.contains("Request access"), "they may ask again")

            let saved = try await api.call(.put, "/apis/\(internalId)/catalog", #"{"visibility":"public","autoApprove":true}"#)
            #expect(saved.status == .ok)
            #expect(saved.json["visibility"] as? String == "public")
            #expect(try await api.call(.put, "/apis/\(internalId)/catalog", #"{"visibility":{"groups":["nobody"]}}"#).status == .unprocessableContent)
            #expect(try await api.call(.put, "/apis/\(internalId)/catalog", #"{"visibility":"everyone"}"#).status == .badRequest)
            let granted = try await partner.post("/portal/catalog/\(internalId)/request", [("reason", "dashboards")])
            #expect(granted.status == 303)
            let approved = try await api.call(.get, "/access-requests?status=approved").array
            #expect(approved.first?["api"] as? String == "internal")
            #expect(try await partner.get("/portal").contains("internal"), "on their APIs at once")
        }
    }
}
