import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

/// The consumer's credential stays at the gateway unless the API asks for it: the recording upstream sees who is
/// calling only through the gateway's own `X-Portico-*` headers, and never a client's copies of them.
@Suite struct CredentialForwardingTests {
    /// Everything the upstream received, as one text to search.
    func seen(_ response: TestHTTPResponse) -> String { response.text }

    @Test func anAPIKeyReachesTheUpstreamOnlyWhenTheAPIAsks() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                let forwarding = try await portico.createAPI("legacy", prefix: "/legacy", upstreamPort: upstream)
                try await APIService(store: portico.store).update(forwarding.id, APIPatch(forwardCredential: true), by: portico.actor)
                try await portico.grant("buyers", groups: ["buyers", "auditors"])
                let (user, key) = try await portico.seedConsumer(groups: ["buyers", "auditors"])
                try await portico.withGateway { gateway in
                    let forged = [("X-Portico-User", "admin"), ("x-portico-groups", "admins"), ("X-Portico-Anything", "x")]
                    let kept = try await gateway.get("/orders/1", key: key, headers: forged)
                    #expect(kept.status == 200)
                    let headers = try kept.upstreamHeaders()
                    #expect(headers["authorization"] == nil)
                    #expect(!seen(kept).contains(key), "the key reached the upstream")
                    #expect(headers["x-portico-user"] == user.id.uuidString)
                    #expect(headers["x-portico-groups"] == "auditors,buyers")
                    #expect(headers["x-portico-key-id"]?.isEmpty == false)
                    #expect(headers["x-portico-anything"] == nil)

                    let forwarded = try await gateway.get("/legacy/1", key: key)
                    #expect(try forwarded.upstreamHeaders()["authorization"] == "Bearer \(key)")
                }
            }
        }
    }

    @Test func aJWTReachesTheUpstreamOnlyWhenTheAPIAsksFromAHeaderOrACookie() async throws {
        let secret = String(repeating: "jwt forwarding secret ", count: 2)
        let sources: [String: Any] = ["header": "Authorization", "cookie": "id_token"]
        try await withJWTGateway(["signingSecret": secret, "tokenSources": sources]) { gateway, portico in
            let upstreamPort = URLComponents(string: try await APIService(store: portico.store).list()[0].upstream)?.port ?? 0
            let forwarding = try await portico.createAPI("legacy", prefix: "/legacy", upstreamPort: upstreamPort)
            try await APIService(store: portico.store).update(forwarding.id, APIPatch(forwardCredential: true), by: portico.actor)
            try await portico.grant("buyers-legacy", groups: ["buyers"], apis: ["legacy"])
            await portico.reloadPolicy()
            let token = try await TestSigningKey.hmac(secret).sign(testClaims(sub: "user-7"))

            let fromHeader = try await gateway.get("/orders", token: token)
            #expect(fromHeader.status == 200)
            #expect(!seen(fromHeader).contains(token), "the token reached the upstream")
            #expect(try fromHeader.upstreamHeaders()["x-portico-user"] == "user-7")
            #expect(try fromHeader.upstreamHeaders()["x-portico-groups"] == "buyers")

            let fromCookie = try await gateway.get("/orders", headers: [("Cookie", "theme=dark; id_token=\(token)")])
            #expect(fromCookie.status == 200)
            #expect(!seen(fromCookie).contains(token), "the token reached the upstream in its cookie")
            #expect(try fromCookie.upstreamHeaders()["cookie"] == "theme=dark")

            let forwarded = try await gateway.get("/legacy", token: token)
            #expect(try forwarded.upstreamHeaders()["authorization"] == "Bearer \(token)")
        }
    }
}
