import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// A token user's calls are counted under an id the gateway derives from their external id; reading their usage
/// by user (the admin API, their dashboard page) finds them there.
@Suite struct TokenUserUsageTests {
    @Test func aTokenUsersUsageIsReadByTheirUser() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let secret = String(repeating: "u", count: 32)
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"])
                try await portico.useJWT(["signingSecret": secret])
                await portico.reloadPolicy()
                let token = try await TestSigningKey.hmac(secret).sign([
                    "sub": .string("ada"), "email": .string("ada@tokens.example"), "groups": .array([.string("buyers")]),
                    "exp": .number(Date().timeIntervalSince1970 + 600),
                ])
                try await portico.withGateway { gateway in
                    for _ in 0..<3 { #expect(try await gateway.get("/orders/1", key: token).status == 200) }
                    let derived = JWTPrincipal(userId: "ada", email: nil, tokenName: nil, groups: []).consumerId
                    #expect(try await portico.waitForCalls(3, consumer: derived).requests == 3)
                    var user: User?
                    for _ in 0..<100 where user == nil {
                        user = try await UserService(store: portico.store).find(email: "ada@tokens.example")
                        if user == nil { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    let ada = try #require(user, "the token user was recorded")
                    #expect(ada.consumerIds.contains(derived))
                    try await portico.controlPlane().test(.router) { client in
                        let usage = try await AdminClient(client: client, token: portico.adminToken).call(
                            .get, "/usage?user=ada@tokens.example&granularity=hour")
                        let total = (usage.json["points"] as? [[String: Any]] ?? []).reduce(0) { sum, point in
                            sum + ((point["requests"] as? [String: Any])?["total"] as? Int ?? 0)
                        }
                        #expect(total == 3)
                    }
                }
            }
        }
    }

    @Test func aTokenUsersQuotaUsedIsReadUnderTheirDerivedId() async throws {
        try await withTestPortico { portico in
            let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
            try await portico.ensureGroups(["buyers"])
            let plan = try await PlanService(store: portico.store).create(
                PlanInput(name: "daily", quota: .some(QuotaInput(limit: 100, period: "24h"))), by: portico.actor)
            try await AccessService(store: portico.store).create(
                AccessInput(name: "buyers", groups: ["buyers"], allApis: true, plan: "daily"), by: portico.actor)
            // A token user as the gateway's sightings record them, in the group.
            try await portico.store.read { connection in
                _ = try await portico.store.users.recordSightings(
                    [UserSighting(externalId: "bea", email: "bea@tokens.example", tokenName: nil, seenAt: Date())], on: connection)
            }
            let bea = try #require(try await UserService(store: portico.store).find(email: "bea@tokens.example"))
            _ = try await UserService(store: portico.store).update(bea.id, UserPatch(groups: ["buyers"]), by: portico.actor)
            // Five calls a gateway counted under the id it derives from the token's subject.
            let derived = JWTPrincipal(userId: "bea", email: nil, tokenName: nil, groups: []).consumerId
            let window = QuotaPeriod.day.window(containing: Int64(Date().timeIntervalSince1970))
            _ = try await portico.store.read { connection in
                try await QuotaRepository(logger: portico.database.logger).report(
                    [
                        QuotaCounterReport(
                            bucket: QuotaBucketName.of(plan: plan.id, consumer: derived, api: api.id), window: window, limit: 100, spent: 5,
                            unreserve: 0,
                            want: 0)
                    ], on: connection)
            }
            let user = try await UserService(store: portico.store).get(bea.id)
            let access = try await ConsumerAccessService(store: portico.store).access(of: user)
            #expect(access.first?.quotaUsed == 5)
            #expect(access.first?.quotaLeft == 95)
        }
    }
}
