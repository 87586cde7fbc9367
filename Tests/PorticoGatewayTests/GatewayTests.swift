import Foundation
import Hummingbird
import PorticoCore
import PorticoGateway
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The gateway against real sockets: a real upstream, the gateway's own HTTP server, a real PostgreSQL.
@Suite struct GatewayAuthTests {
    @Test func noRouteIs404JSON() async throws {
        try await withTestPortico { portico in
            try await portico.withGateway { gateway in
                let response = try await gateway.get("/nowhere")
                #expect(response.status == 404)
                #expect(try response.json()["error"] as? String == "no_route")
            }
        }
    }

    @Test func aMissingCredentialIs401WithTheRealm() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.withGateway { gateway in
                    let response = try await gateway.get("/orders")
                    #expect(response.status == 401)
                    #expect(response.header("WWW-Authenticate") == #"Bearer realm="portico""#)
                    let basic = try await gateway.get("/orders", headers: [("Authorization", "Basic dXNlcjpwYXNz")])
                    #expect(basic.status == 401)
                }
            }
        }
    }

    @Test func unknownRevokedExpiredAndDisabledKeysAre401InvalidToken() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, revokedKey) = try await portico.seedConsumer(groups: ["buyers"])
                let (_, expiredKey) = try await portico.seedConsumer(groups: ["buyers"])
                let (disabledUser, disabledKey) = try await portico.seedConsumer(groups: ["buyers"])
                _ = try await portico.store.database.transaction { connection in
                    try await connection.query(
                        """
                        UPDATE api_keys SET expires_at = now() - interval '1 second'
                        WHERE prefix = \(String(expiredKey.prefix(11)))
                        """, logger: portico.database.logger)
                }
                let revokedId = try await keyId(of: revokedKey, in: portico)
                _ = try await KeyService(store: portico.store).revoke(revokedId, by: portico.actor)
                _ = try await UserService(store: portico.store).update(disabledUser.id, UserPatch(disabled: true), by: portico.actor)

                try await portico.withGateway { gateway in
                    for (key, reason) in [
                        (SecretFormat.apiKey.generate().secret, "unknown"), (revokedKey, "unknown or revoked"),
                        (expiredKey, "unknown or revoked"), (disabledKey, "disabled"), ("not-a-key", "malformed"),
                    ] {
                        let response = try await gateway.get("/orders", key: key)
                        #expect(response.status == 401, "\(reason)")
                        let challenge = response.header("WWW-Authenticate") ?? ""
                        #expect(challenge.contains(#"error="invalid_token""#), "\(reason)")
                        #expect(challenge.contains(reason), "\(challenge)")
                    }
                }
            }
        }
    }

    @Test func aKeyExpiringWhileLoadedIsRefusedAtItsExpiry() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let user = try await UserService(store: portico.store).create(
                    UserInput(email: "soon@example.com", groups: ["buyers"]), by: portico.actor)
                let expiry = Date().addingTimeInterval(8)
                let key = try await KeyService(store: portico.store).create(for: user.id, name: "short", expiresAt: expiry, by: portico.actor)
                try await portico.withGateway { gateway in
                    let before = try await gateway.get("/orders", key: key.key)
                    // A loaded machine may take the whole validity to get here; the answer is only judged within it.
                    if Date() < expiry { #expect(before.status == 200, "the key is valid until its expiry") }
                    try await Task.sleep(for: .milliseconds(Int(expiry.timeIntervalSinceNow * 1000) + 300))
                    let expired = try await gateway.get("/orders", key: key.key)
                    #expect(expired.status == 401)
                    #expect(expired.header("WWW-Authenticate")?.contains("expired") == true)
                }
            }
        }
    }

    @Test func noGrantIs403NamingTheAPI() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("billing", prefix: "/billing", upstreamPort: upstream)
                try await portico.grant("orders-only", groups: ["buyers"], apis: ["orders"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    #expect(try await gateway.get("/orders/1", key: key).status == 200)
                    let denied = try await gateway.get("/billing/1", key: key)
                    #expect(denied.status == 403)
                    #expect(try denied.json()["error"] as? String == "no_access")
                    #expect((try denied.json()["message"] as? String)?.contains("billing") == true)
                }
            }
        }
    }

    @Test func keyUseIsRecordedInBatches() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (user, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    #expect(try await gateway.get("/orders", key: key).status == 200)
                    try await Task.sleep(for: .milliseconds(600))
                }
                let keys = try await KeyService(store: portico.store).list(for: user.id)
                #expect(keys.first?.lastUsedAt != nil)
            }
        }
    }
}

func keyId(of key: String, in portico: TestPortico) async throws -> UUID {
    let hash = SecretHash(of: key)
    let owner = try await portico.store.read { try await portico.store.keys.owner(ofSecretHash: hash, on: $0) }
    return try #require(owner?.keyId)
}
