import Foundation
import HTTPTypes
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct PlansAPITests {
    @Test func createReadPatchAndDeleteAPlanWithAuditRows() async throws {
        try await withAdminAPI { admin, portico in
            let audits = try await auditCount(portico)
            let created = try await admin.call(
                .post, "/plans",
                #"{"name":"gold","description":"For partners","rateLimit":{"limit":100,"period":"1m"},"quota":{"limit":10000,"period":"month"},"bucket":"consumer"}"#
            )
            #expect(created.status == .created)
            #expect(created.json["name"] as? String == "gold")
            #expect(created.json["description"] as? String == "For partners")
            #expect((created.json["rateLimit"] as? [String: Int]) == ["limit": 100, "period": 60])
            let quota = created.json["quota"] as? [String: Any]
            #expect(quota?["limit"] as? Int == 10_000 && quota?["period"] as? String == "month")
            #expect(created.json["bucket"] as? String == "consumer")
            #expect(try await admin.call(.get, "/plans").array.count == 1)
            #expect(try await admin.call(.get, "/plans/\(created.id)").json["name"] as? String == "gold")

            let patched = try await admin.call(.patch, "/plans/\(created.id)", #"{"quota":null,"rateLimit":{"limit":5,"period":1}}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["quota"] == nil)
            #expect((patched.json["rateLimit"] as? [String: Int]) == ["limit": 5, "period": 1])
            #expect(patched.json["description"] as? String == "For partners", "absent fields are left as they are")

            #expect(try await admin.call(.delete, "/plans/\(created.id)").status == .noContent)
            #expect(try await admin.call(.get, "/plans/\(created.id)").status == .notFound)
            #expect(try await auditCount(portico) == audits + 3)
            let actions = try await portico.store.read { connection in
                try await connection.query("SELECT action FROM audit_log WHERE entity_type = 'plan' ORDER BY id", logger: portico.database.logger)
                    .decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(actions == ["plan.create", "plan.update", "plan.delete"])
        }
    }

    @Test func badPlanInputNamesTheFieldAndWritesNothing() async throws {
        try await withAdminAPI { admin, portico in
            let audits = try await auditCount(portico)
            let cases: [(String, String)] = [
                (#"{"name":"p","quota":{"limit":10,"period":"week"}}"#, "quota.period"),
                (#"{"name":"p","quota":{"limit":0,"period":"24h"}}"#, "quota.limit"),
                (#"{"name":"p","rateLimit":{"limit":10,"period":"1y"}}"#, "rateLimit.period"),
                (#"{"name":"p","bucket":"application"}"#, "bucket"),
                (#"{"name":"bad name"}"#, "name"),
                (#"{"description":"no name"}"#, "name"),
            ]
            for (body, field) in cases {
                let refused = try await admin.call(.post, "/plans", body)
                #expect(refused.status == .unprocessableContent, "\(body)")
                #expect(refused.message.hasPrefix(field), "\(body): \(refused.message)")
            }
            #expect(try await admin.call(.post, "/plans", #"{"name":"p","quota":"lots"}"#).status == .badRequest)
            #expect(try await admin.call(.post, "/plans", #"{"name":"p"}"#).status == .created)
            let duplicate = try await admin.call(.post, "/plans", #"{"name":"p"}"#)
            #expect(duplicate.status == .conflict)
            #expect(try await auditCount(portico) == audits + 1)
        }
    }

    @Test func grantsReferenceAPlanWhichCannotBeDeletedWhileInUse() async throws {
        try await withAdminAPI { admin, portico in
            try await portico.ensureGroups(["buyers"])
            let plan = try await admin.call(.post, "/plans", #"{"name":"silver","quota":{"limit":1000,"period":"24h"}}"#)
            let unknown = try await admin.call(.post, "/accesses", #"{"name":"a","groups":["buyers"],"allApis":true,"plan":"platinum"}"#)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.message == "plan: no plan named 'platinum'")

            let grant = try await admin.call(
                .post, "/accesses", #"{"name":"buyers","groups":["buyers"],"allApis":true,"plan":"silver","rateLimit":{"limit":10,"period":"1s"}}"#)
            #expect(grant.status == .created)
            #expect(grant.json["plan"] as? String == "silver")
            #expect(try await admin.call(.get, "/plans/\(plan.id)").json["grants"] as? [String] == ["buyers"])

            let inUse = try await admin.call(.delete, "/plans/\(plan.id)")
            #expect(inUse.status == .conflict)
            #expect(inUse.message.contains("'buyers'"))

            let moved = try await admin.call(.patch, "/accesses/\(grant.id)", #"{"plan":null}"#)
            #expect(moved.json["plan"] == nil)
            #expect((moved.json["rateLimit"] as? [String: Int]) == ["limit": 10, "period": 1], "its own rate limit stays")
            #expect(try await admin.call(.delete, "/plans/\(plan.id)").status == .noContent)
        }
    }

    @Test func aPlanChangeReachesTheGatewaysPolicyAsAStructuralChange() async throws {
        try await withTestPortico { portico in
            let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
            try await portico.ensureGroups(["buyers"])
            let plans = PlanService(store: portico.store)
            let plan = try await plans.create(PlanInput(name: "gold", quota: .some(QuotaInput(limit: 100, period: "24h"))), by: portico.actor)
            try await AccessService(store: portico.store).create(
                AccessInput(name: "buyers", groups: ["buyers"], allApis: true, plan: "gold"), by: portico.actor)
            await portico.reloadPolicy()
            let before = portico.policy.snapshot
            #expect(before.access(groups: ["buyers"], api: api.id)?.quota?.limit == 100)

            _ = try await plans.update(plan.id, PlanInput(quota: .some(QuotaInput(limit: 500, period: "month"))), by: portico.actor)
            let change = try await PolicyChangeLog(logger: portico.database.logger).catchUp(
                from: before, maxChanges: 100, database: portico.database, timeout: nil)
            guard case .delta(let delta, _) = change else {
                Issue.record("expected a delta, got \(change)")
                return
            }
            let after = before.applying(delta)
            #expect(after.access(groups: ["buyers"], api: api.id)?.quota == (try Quota(limit: 500, period: .month)))
        }
    }
}
