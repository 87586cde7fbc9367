import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// `POST /api/v1/explain` and the dashboard's Explain page, on a real database with the gateway of the process:
/// the decision the gateway then makes is the one explained, and the stored key tells what the snapshot does not.
@Suite struct ExplainTests {
    /// An `orders` API granted to `buyers` at 5 calls a minute, a buyer with a key, and a control plane that
    /// explains with a running gateway's decision.
    func withExplainer(
        _ body: @escaping @Sendable (AdminClient, WebClient, TestPortico, GatewayHandle, (user: User, key: String)) async throws -> Void
    )
        async throws
    {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream, stripPrefix: true)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"], limit: 5)
                let buyer = try await portico.seedConsumer(email: "buyer@example.com", groups: ["buyers"])
                try await setPassword(adminPassword, for: portico.admin.id, in: portico)
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    try await portico.controlPlane(explainer: gateway.gateway.server.explainer).test(.router) { client in
                        try await body(AdminClient(client: client, token: portico.adminToken), WebClient(client), portico, gateway, buyer)
                    }
                }
            }
        }
    }

    static func body(_ fields: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }

    @Test func aKeysCallIsExplainedAsTheGatewayDecidesItWithoutCountingIt() async throws {
        try await withExplainer { api, _, _, gateway, buyer in
            let explained = try await api.call(.post, "/explain", try Self.body(["method": "GET", "url": "/orders/7?x=1", "credential": buyer.key]))
            #expect(explained.status == .ok)
            let decision = explained.json["decision"] as? [String: Any]
            #expect(decision?["forwarded"] as? Bool == true)
            let steps = explained.json["steps"] as? [[String: Any]] ?? []
            #expect(steps.map { $0["step"] as? String } == ["route", "credential", "access", "limits", "upstream"])
            #expect(steps.allSatisfy { $0["outcome"] as? String == "passed" })
            let checks = (steps[1]["checks"] as? [[String: Any]] ?? []).map { "\($0["check"] ?? ""): \($0["detail"] ?? "")" }
            #expect(checks.last?.hasPrefix("stored key: key 'test'") == true)
            #expect(checks.last?.hasSuffix("of 'buyer@example.com': active") == true)
            let upstream = explained.json["upstreamRequest"] as? [String: Any]
            #expect((upstream?["url"] as? String)?.hasSuffix("/7?x=1") == true)
            #expect(!String(decoding: explained.body, as: UTF8.self).contains(buyer.key), "the key is never echoed")
            // Explaining spent none of the five calls.
            let real = try await gateway.get("/orders/7", key: buyer.key)
            #expect(real.status == 200)
            #expect(real.header("x-ratelimit-remaining") == "4")
        }
    }

    @Test func aRevokedKeyIsExplainedFromItsStoredRecord() async throws {
        try await withExplainer { api, _, portico, gateway, buyer in
            let keyId = try #require(try await KeyService(store: portico.store).list(for: buyer.user.id).first?.id)
            _ = try await KeyService(store: portico.store).revoke(keyId, by: portico.actor)
            await portico.reloadPolicy()
            let explained = try await api.call(.post, "/explain", try Self.body(["method": "GET", "url": "/orders/1", "credential": buyer.key]))
            let decision = explained.json["decision"] as? [String: Any]
            #expect(decision?["status"] as? Int == 401)
            #expect(decision?["error"] as? String == "invalid_token")
            let credential = (explained.json["steps"] as? [[String: Any]])?.first { $0["step"] as? String == "credential" }
            let checks = credential?["checks"] as? [[String: Any]] ?? []
            #expect(checks.first?["detail"] as? String == "the API key is unknown or revoked")
            #expect((checks.last?["detail"] as? String)?.contains(": revoked at ") == true)
            #expect(try await gateway.get("/orders/1", key: buyer.key).status == 401)
        }
    }

    @Test func aUserWithoutAGrantIsExplainedByTheirGroups() async throws {
        try await withExplainer { api, _, portico, _, _ in
            let stranger = try await portico.seedConsumer(email: "stranger@example.com", groups: ["visitors"])
            let explained = try await api.call(
                .post, "/explain", try Self.body(["method": "GET", "url": "http://gateway.example/orders/1", "userId": stranger.user.id.uuidString]))
            let decision = explained.json["decision"] as? [String: Any]
            #expect(decision?["error"] as? String == "no_access")
            let access = (explained.json["steps"] as? [[String: Any]])?.first { $0["step"] as? String == "access" }
            #expect((access?["detail"] as? String)?.contains("the caller's groups are 'visitors', groups with grants on it are 'buyers'") == true)
        }
    }

    @Test func badInputIs422NamingTheField() async throws {
        try await withExplainer { api, _, _, _, buyer in
            let noURL = try await api.call(.post, "/explain", #"{"method": "GET"}"#)
            #expect(noURL.status == .unprocessableContent || noURL.status == .badRequest)
            let both = try await api.call(
                .post, "/explain", try Self.body(["method": "GET", "url": "/orders", "credential": buyer.key, "userId": UUID().uuidString]))
            #expect(both.status == .unprocessableContent)
            #expect(both.message.contains("not both"))
            let badURL = try await api.call(.post, "/explain", try Self.body(["method": "GET", "url": "gopher://x/orders"]))
            #expect(badURL.status == .unprocessableContent)
            #expect(badURL.message.contains("url"))
            let unknownUser = try await api.call(.post, "/explain", try Self.body(["method": "GET", "url": "/orders", "userId": UUID().uuidString]))
            #expect(unknownUser.status == .notFound)
        }
    }

    @Test func theDashboardShowsEachStepAndNeverTheCredential() async throws {
        try await withExplainer { _, web, portico, _, buyer in
            _ = try await web.signIn()
            let stranger = try await portico.seedConsumer(email: "stranger@example.com", groups: ["visitors"])
            let form = try await web.get("/admin/explain?user=\(stranger.user.id)&url=/orders/1")
            #expect(form.html.contains(#"value="stranger@example.com""#))
            let asUser = try await web.post("/admin/explain", [("method", "GET"), ("url", "/orders/1"), ("user", "stranger@example.com")])
            #expect(asUser.html.contains("403 no_access"))
            #expect(asUser.text.contains("explained as user 'stranger@example.com'"))
            let withKey = try await web.post("/admin/explain", [("method", "POST"), ("url", "/orders/1"), ("credential", stranger.key)])
            #expect(withKey.html.contains("403 no_access"))
            #expect(!withKey.html.contains("The request the upstream would get"), "a refused call goes nowhere")
            #expect(!withKey.html.contains(stranger.key), "the credential is not shown back")
            let forwarded = try await web.post("/admin/explain", [("method", "GET"), ("url", "/orders/1"), ("credential", buyer.key)])
            #expect(forwarded.html.contains("forwarded to the upstream"))
            #expect(forwarded.html.contains("The request the upstream would get"))
            let refused = try await web.post("/admin/explain", [("method", "GET"), ("url", "no slash"), ("credential", buyer.key)])
            #expect(refused.status == 422)
            #expect(refused.html.contains(#"aria-invalid="true""#))
        }
    }
}

/// The portal's token tester: a consumer pastes a token and reads what the gateway reads from it, in the
/// explainer's words, with the APIs its groups can call. The token is never shown back.
@Suite struct TokenTesterTests {
    static let secret = String(repeating: "t", count: 32)

    @Test func aConsumerSeesEachCheckTheMappedUserAndTheAPIsTheirGroupsCanCall() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("billing", prefix: "/billing", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"], limit: 5)
                let (consumer, _) = try await portico.seedConsumer(email: "c@example.com", groups: ["buyers"])
                try await setPassword("consumer password 1", for: consumer.id, in: portico)
                try await portico.useJWT(["signingSecret": Self.secret, "issuer": "https://idp.example", "claims": "Equals(`tier`, `gold`)"])
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    try await portico.controlPlane(explainer: gateway.gateway.server.explainer).test(.router) { client in
                        let web = WebClient(client)
                        _ = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")
                        let blank = try await web.get("/portal/token")
                        #expect(blank.text.contains("Test a token") && !blank.text.contains("refused"), "no reading before a token is tested")
                        func token(_ extra: [String: JSONValue]) async throws -> String {
                            var claims: [String: JSONValue] = [
                                "sub": .string("ada"), "email": .string("ada@example.com"), "groups": .array([.string("buyers")]),
                                "iss": .string("https://idp.example"), "exp": .number(Date().timeIntervalSince1970 + 600),
                                "azp": .string("ci-runner"),
                            ]
                            claims.merge(extra) { $1 }
                            return try await TestSigningKey.hmac(Self.secret).sign(claims)
                        }

                        let good = try await token(["tier": .string("gold")])
                        let accepted = try await web.post("/portal/token", [("token", good)])
                        #expect(accepted.status == 200)
                        #expect(accepted.text.contains("The gateway accepts this token"))
                        #expect(accepted.text.contains("<code>signature</code> verified with jwt-kit"))
                        #expect(accepted.text.contains("<dt>Groups</dt><dd>buyers</dd>"))
                        #expect(accepted.text.contains("<dt>Token name</dt><dd>ci-runner</dd>"))
                        #expect(accepted.text.contains("<strong>orders</strong>: 5 calls per 60 s"))
                        #expect(!accepted.text.contains("<strong>billing</strong>"))
                        #expect(!accepted.html.contains(good), "the token is not shown back")

                        let bronze = try await web.post("/portal/token", [("token", try await token(["tier": .string("bronze")]))])
                        #expect(bronze.text.contains("refused"))
                        #expect(bronze.text.contains("Equals(`tier`, `gold`) is not satisfied"))

                        let expired = try await web.post(
                            "/portal/token",
                            [("token", try await token(["tier": .string("gold"), "exp": .number(Date().timeIntervalSince1970 - 600)]))])
                        #expect(expired.text.contains("<code>exp</code> the token has expired"))
                        #expect(!expired.text.contains("APIs these groups can call"))

                        let forged = try await TestSigningKey.hmac(String(repeating: "x", count: 32)).sign(["sub": .string("ada")])
                        #expect(try await web.post("/portal/token", [("token", forged)]).text.contains("the token's signature is not valid"))

                        let empty = try await web.post("/portal/token", [("token", "  ")])
                        #expect(empty.status == 422)
                        #expect(empty.text.contains("paste a token to test"))
                    }
                }
            }
        }
    }
}
