import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

private let secret = String(repeating: "principal tests secret ", count: 3)
private let key = TestSigningKey.hmac(secret)

/// What a verified token becomes: the principal, its groups and limits, headers upstream, and the portal user.
@Suite struct JWTPrincipalTests {
    @Test func nestedClaimPathsAndStringGroupsMapOntoTheConsumer() async throws {
        let mapping: [String: Any] = ["groups": "realm_access.roles", "userId": "preferred_username", "email": "contact.email"]
        try await withJWTGateway(["signingSecret": secret], claimsMapping: mapping) { gateway, _ in
            let nested = try await key.sign([
                "preferred_username": .string("ann"), "realm_access": .object(["roles": .array([.string("offline"), .string("buyers")])]),
            ])
            #expect(try await gateway.get("/orders", token: nested).status == 200)
            let asString = try await key.sign([
                "preferred_username": .string("bob"), "realm_access": .object(["roles": .string("offline buyers")]),
            ])
            #expect(try await gateway.get("/orders", token: asString).status == 200)
            let withoutUser = try await key.sign(["sub": .string("x"), "realm_access": .object(["roles": .string("buyers")])])
            #expect(try await gateway.get("/orders", token: withoutUser).errorDescription == "the token has no 'preferred_username' claim")
        }
    }

    @Test func aUserInSeveralGroupsGetsTheMostGenerousLimit() async throws {
        try await withJWTGateway(["signingSecret": secret], grantLimit: 1) { gateway, portico in
            try await portico.grant("vip-orders", groups: ["vip"], apis: ["orders"], limit: 100)
            await portico.reloadPolicy()
            let both = try await key.sign(testClaims(sub: "u-both", groups: ["buyers", "vip"]))
            let response = try await gateway.get("/orders", token: both)
            #expect(response.header("X-RateLimit-Limit") == "100")

            let buyer = try await key.sign(testClaims(sub: "u-buyer", groups: ["buyers"]))
            let first = try await gateway.get("/orders", token: buyer)
            #expect(first.header("X-RateLimit-Limit") == "1")
            let second = try await gateway.get("/orders", token: buyer)
            #expect(second.status == 429)
            #expect(second.header("Retry-After") != nil)
            // Limits are per user: another user of the same group has its own allowance.
            let other = try await key.sign(testClaims(sub: "u-other", groups: ["buyers"]))
            #expect(try await gateway.get("/orders", token: other).status == 200)
        }
    }

    @Test func theClaimsExpressionGuardsEveryAPI() async throws {
        let expression = "Equals(`tier`, `gold`) || (Contains(`scope`, `orders:read`) && !Prefix(`sub`, `bot-`))"
        try await withJWTGateway(["signingSecret": secret, "claims": expression]) { gateway, _ in
            let gold = try await key.sign(testClaims(extra: ["tier": .string("gold")]))
            #expect(try await gateway.get("/orders", token: gold).status == 200)
            let reader = try await key.sign(testClaims(sub: "ann", extra: ["scope": .string("profile orders:read")]))
            #expect(try await gateway.get("/orders", token: reader).status == 200)
            let bot = try await key.sign(testClaims(sub: "bot-7", extra: ["scope": .string("orders:read")]))
            let refused = try await gateway.get("/orders", token: bot)
            #expect(refused.status == 403)
            #expect(try refused.json()["error"] as? String == "claims_mismatch")
        }
    }

    @Test func claimsAreForwardedAsHeadersAndCannotBeSpoofed() async throws {
        let settings: [String: Any] = [
            "signingSecret": secret, "forwardHeaders": ["X-User-Email": "email", "X-User-Groups": "groups", "X-Tier": "org.tier"],
            "stripAuthorizationHeader": true,
        ]
        try await withJWTGateway(settings) { gateway, _ in
            let token = try await key.sign(
                testClaims(
                    groups: ["buyers", "ops"], extra: ["email": .string("ann@example.com"), "org": .object(["tier": .string("gold")])]))
            let response = try await gateway.get(
                "/orders",
                headers: [
                    ("Authorization", "Bearer \(token)"), ("X-User-Email", "ceo@example.com"), ("x-tier", "platinum"),
                ])
            #expect(response.status == 200)
            let seen = try response.upstreamHeaders()
            #expect(seen["x-user-email"] == "ann@example.com")
            #expect(seen["x-user-groups"] == "buyers,ops")
            #expect(seen["x-tier"] == "gold")
            #expect(seen["authorization"] == nil)

            // A token without the claim: the client's header is still removed, nothing is invented.
            let plain = try await key.sign(testClaims())
            let spoof = try await gateway.get("/orders", headers: [("Authorization", "Bearer \(plain)"), ("X-User-Email", "ceo@example.com")])
            #expect(try spoof.upstreamHeaders()["x-user-email"] == nil)
        }
    }

    @Test func withoutStripTheCredentialStillStaysAtTheGateway() async throws {
        try await withJWTGateway(["signingSecret": secret]) { gateway, _ in
            let token = try await key.sign(testClaims())
            #expect(try await gateway.get("/orders", token: token).upstreamHeaders()["authorization"] == nil)
        }
    }

    @Test func tokensAreTakenFromEachConfiguredSourceInOrder() async throws {
        let sources: [String: Any] = ["header": "X-Api-Token", "query": "jwt", "form": "access_token", "cookie": "session_jwt"]
        try await withJWTGateway(["signingSecret": secret, "tokenSources": sources]) { gateway, _ in
            let token = try await key.sign(testClaims())
            let viaHeader = try await gateway.get("/orders", headers: [("X-Api-Token", token)])
            #expect(viaHeader.status == 200)

            let viaQuery = try await gateway.get("/orders/list?page=2&jwt=\(token)&sort=asc")
            #expect(viaQuery.status == 200)
            #expect(viaQuery.header("X-Upstream-Query") == "page=2&sort=asc", "the credential is removed from the upstream URL")

            let viaCookie = try await gateway.get("/orders", headers: [("Cookie", "theme=dark; session_jwt=\(token)")])
            #expect(viaCookie.status == 200)

            let form = Data("note=hello&access_token=\(token)".utf8)
            let viaForm = try await TestHTTP.send(
                .POST, gateway.baseURL + "/orders", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
            #expect(viaForm.status == 200)
            #expect(viaForm.body == form, "the collected form body still reaches the upstream")

            // Authorization is not among the sources here.
            #expect(try await gateway.get("/orders", token: token).status == 401)
        }
    }

    @Test func strictOptionalAndPermissive() async throws {
        try await withJWTGateway(["signingSecret": secret, "forwardHeaders": ["X-User": "sub"]]) { gateway, portico in
            try await portico.grant("public-orders", groups: ["anonymous"], apis: ["orders"], limit: 1000)
            let valid = try await key.sign(testClaims(sub: "ann"))
            let forged = try await TestSigningKey.hmac(String(repeating: "wrong ", count: 8)).sign(testClaims())

            await portico.reloadPolicy()
            let strictMissing = try await gateway.get("/orders")
            #expect(strictMissing.status == 401)
            #expect(strictMissing.header("WWW-Authenticate") == #"Bearer realm="portico""#)

            try await portico.useJWT(["signingSecret": "set", "forwardHeaders": ["X-User": "sub"], "strictness": "optional"])
            await portico.reloadPolicy()
            let optionalMissing = try await gateway.get("/orders", headers: [("X-User", "spoofed")])
            #expect(optionalMissing.status == 200)
            #expect(try optionalMissing.upstreamHeaders()["x-user"] == nil)
            #expect(try await gateway.get("/orders", token: forged).status == 401)
            #expect(try await gateway.get("/orders", token: valid).upstreamHeaders()["x-user"] == "ann")

            try await portico.useJWT(["signingSecret": "set", "forwardHeaders": ["X-User": "sub"], "strictness": "permissive"])
            await portico.reloadPolicy()
            let permissiveForged = try await gateway.get("/orders", token: forged)
            #expect(permissiveForged.status == 200)
            #expect(try permissiveForged.upstreamHeaders()["x-user"] == nil)
            #expect(try await gateway.get("/orders", token: valid).upstreamHeaders()["x-user"] == "ann")
        }
    }

    @Test func anonymousCallersOnlyReachAPIsGrantedToTheAnonymousGroup() async throws {
        try await withJWTGateway(["signingSecret": secret, "strictness": "optional", "anonymousGroup": "guests"]) { gateway, portico in
            let refused = try await gateway.get("/orders")
            #expect(refused.status == 403)
            try await portico.grant("guest-orders", groups: ["guests"], apis: ["orders"], limit: 5)
            await portico.reloadPolicy()
            let admitted = try await gateway.get("/orders")
            #expect(admitted.status == 200)
            #expect(admitted.header("X-RateLimit-Limit") == "5")
        }
    }

    @Test func firstSeenUsersBecomePortalUsersAndCanBeDisabled() async throws {
        try await withJWTGateway(["signingSecret": secret]) { gateway, portico in
            _ = try await UserService(store: portico.store).create(UserInput(email: "taken@example.com"), by: portico.actor)
            let ann = try await key.sign(testClaims(sub: "idp|ann", extra: ["email": .string("ann@example.com"), "azp": .string("cli-app")]))
            let clash = try await key.sign(testClaims(sub: "idp|other", extra: ["email": .string("TAKEN@example.com")]))
            #expect(try await gateway.get("/orders", token: ann).status == 200)
            #expect(try await gateway.get("/orders", token: clash).status == 200)

            let users = UserService(store: portico.store)
            var seen: [User] = []
            for _ in 0..<50 where seen.count < 2 {
                try await Task.sleep(for: .milliseconds(50))
                seen = try await users.list(search: nil, limit: 50, offset: 0).filter { $0.externalId != nil }
            }
            let annUser = try #require(seen.first { $0.externalId == "idp|ann" })
            #expect(annUser.email == "ann@example.com")
            #expect(annUser.tokenName == "cli-app")
            #expect(annUser.lastSeenAt != nil)
            #expect(annUser.role == .consumer)
            #expect(seen.first { $0.externalId == "idp|other" }?.email == "", "an email another account has is not taken over")

            _ = try await users.update(annUser.id, UserPatch(disabled: true), by: portico.actor)
            await portico.reloadPolicy()
            let disabled = try await gateway.get("/orders", token: ann)
            #expect(disabled.status == 401)
            #expect(disabled.errorDescription == "the token's user is disabled")
        }
    }

    @Test func theUsernameClaimLabelsTheRequestMetric() async throws {
        try await withJWTGateway(["signingSecret": secret, "usernameClaim": "preferred_username"]) { gateway, portico in
            let token = try await key.sign(testClaims(extra: ["preferred_username": .string("ann")]))
            #expect(try await gateway.get("/orders", token: token).status == 200)
            var exposition = [UInt8]()
            portico.registry.emit(into: &exposition)
            let text = String(decoding: exposition, as: UTF8.self)
            #expect(text.contains(#"portico_gateway_user_requests_total{api="orders",user="ann"} 1"#))
        }
    }
}
