import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Refused calls of known consumers, written by the gateway in batches to PostgreSQL: the user's newest on the
/// admin API and the dashboard, each found again by the request id the consumer was answered with.
@Suite struct RecentRefusalsTests {
    /// The user's stored refusals once `done` holds for them, or after 10 s (the gateway writes every 200 ms in tests).
    func waitForRefusals(of user: UUID, in portico: TestPortico, until done: ([Refusal]) -> Bool) async throws -> [Refusal] {
        let deadline = ContinuousClock.now + .seconds(10)
        var stored: [Refusal] = []
        while ContinuousClock.now < deadline {
            stored = try await RefusalService(store: portico.store).recent(of: user)
            if done(stored) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return stored
    }

    @Test func aConsumersRefusalsReachTheDashboardAndTheirRequestIdFindsThem() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("closed", prefix: "/closed", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"], limit: 1)
                let buyer = try await portico.seedConsumer(email: "buyer@example.com", groups: ["buyers"])
                try await setPassword(adminPassword, for: portico.admin.id, in: portico)
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    #expect(try await gateway.get("/orders/1?token=kept-out", key: buyer.key).status == 200)
                    let limited = try await gateway.get("/orders/2?token=kept-out", key: buyer.key)
                    let closed = try await gateway.get("/closed/1", key: buyer.key)
                    let nowhere = try await gateway.get("/nowhere", key: buyer.key)
                    let answered: [Int] = [limited.status, closed.status, nowhere.status]
                    #expect(answered == [429, 403, 404])
                    // Not a known consumer's: kept nowhere.
                    #expect(try await gateway.get("/orders/1", key: SecretFormat.apiKey.generate().secret).status == 401)

                    let stored = try await waitForRefusals(of: buyer.user.id, in: portico) { $0.count >= 3 }
                    #expect(stored.map(\.error) == ["no_route", "no_access", "rate_limited"], "newest first")
                    #expect(stored.map(\.requestId) == [nowhere, closed, limited].map { $0.header("X-Request-Id") ?? "?" })
                    #expect(stored.map(\.step) == ["route", "access", "limits"])
                    #expect(stored.last?.path == "/orders/2", "the query stays out")
                    #expect(stored.last?.message.hasPrefix("rate limit exceeded for API 'orders'") == true)

                    try await portico.controlPlane().test(.router) { client in
                        let api = AdminClient(client: client, token: portico.adminToken)
                        let listed = try await api.call(.get, "/users/\(buyer.user.id)/refusals")
                        #expect(listed.array.map { $0["error"] as? String } == ["no_route", "no_access", "rate_limited"])
                        let requestId = try #require(closed.header("X-Request-Id"))
                        let found = try await api.call(.get, "/refusals?requestId=\(requestId)")
                        #expect(found.array.first?["userEmail"] as? String == "buyer@example.com")
                        #expect((found.array.first?["refusal"] as? [String: Any])?["status"] as? Int == 403)
                        #expect(try await api.call(.get, "/refusals").status == .unprocessableContent)
                        #expect(try await api.call(.get, "/refusals?requestId=unknown-id").array.isEmpty)

                        let web = WebClient(client)
                        _ = try await web.signIn()
                        let page = try await web.get("/admin/users/\(buyer.user.id)")
                        #expect(page.html.contains("Recent refusals"))
                        #expect(page.html.contains(requestId))
                        #expect(page.text.contains("your groups hold no access grant for API 'closed'"))
                        #expect(page.html.contains("/admin/explain?method=GET&amp;url=/closed/1&amp;user=\(buyer.user.id.uuidString)"))
                        let search = try await web.get("/admin/refusals?requestId=\(requestId)")
                        #expect(search.html.contains("403 no_access"))
                        #expect(search.html.contains("buyer@example.com"))
                        let bad = try await web.get("/admin/refusals?requestId=has%20space")
                        #expect(bad.status == 422)
                    }
                }
            }
        }
    }

    @Test func aFloodOfRefusalsKeepsTheNewestFiftyInTheDatabase() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("closed", prefix: "/closed", upstreamPort: upstream)
                let buyer = try await portico.seedConsumer(email: "flood@example.com", groups: ["buyers"])
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    var last = ""
                    for n in 0..<120 { last = try await gateway.get("/closed/\(n)", key: buyer.key).header("X-Request-Id") ?? "" }
                    let stored = try await waitForRefusals(of: buyer.user.id, in: portico) { $0.first?.requestId == last }
                    #expect(stored.first?.requestId == last)
                    let rows = try await portico.store.read { connection in
                        try await connection.query("SELECT count(*) FROM recent_refusals", logger: portico.database.logger).decode(Int.self)
                            .reduce(0) { $0 + $1 }
                    }
                    #expect(rows == Refusal.keptPerConsumer)
                    #expect(stored.count == Refusal.keptPerConsumer)
                    #expect(stored.last?.path == "/closed/70")
                }
            }
        }
    }
}
