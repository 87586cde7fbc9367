import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Applications, key rotation, the key policy and scopes through the admin API, with a real gateway deciding.
@Suite struct ApplicationsAndKeysTests {
    /// `orders` and `billing` granted to `buyers`, a buyer with a key (in their `default` application), a running
    /// gateway, and the admin API.
    func withKeys(_ body: @escaping @Sendable (AdminClient, TestPortico, GatewayHandle, (user: User, key: String)) async throws -> Void)
        async throws
    {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("billing", prefix: "/billing", upstreamPort: upstream)
                try await portico.createAPI("internal", prefix: "/internal", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders", "billing"])
                let buyer = try await portico.seedConsumer(email: "buyer@example.com", groups: ["buyers"])
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    try await portico.controlPlane().test(.router) { client in
                        try await body(AdminClient(client: client, token: portico.adminToken), portico, gateway, buyer)
                    }
                }
            }
        }
    }

    static func json(_ fields: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }

    @Test func applicationsGroupKeysAndUsageIsReadPerApplication() async throws {
        try await withKeys { api, portico, gateway, buyer in
            let listed = try await api.call(.get, "/users/\(buyer.user.id)/applications")
            #expect(listed.array.map { $0["name"] as? String } == ["default"], "the first key made the default application")
            let mobile = try await api.call(
                .post, "/users/\(buyer.user.id)/applications", try Self.json(["name": "mobile", "description": "iOS app"]))
            #expect(mobile.status == .created)
            #expect(try await api.call(.post, "/users/\(buyer.user.id)/applications", #"{"name": "mobile"}"#).status == .conflict)
            let key = try await api.call(.post, "/users/\(buyer.user.id)/keys", try Self.json(["name": "phone", "applicationId": mobile.id]))
            #expect(key.status == .created)
            #expect(key.json["applicationId"] as? String == mobile.id)
            let mobileKey = try #require(key.json["key"] as? String)
            let stranger = try await portico.seedConsumer(email: "s@example.com", groups: [])
            let foreign = try await api.call(.post, "/users/\(stranger.user.id)/keys", try Self.json(["name": "x", "applicationId": mobile.id]))
            #expect(foreign.status == .unprocessableContent, "another user's application")
            await portico.reloadPolicy()

            for _ in 0..<3 { #expect(try await gateway.get("/orders/1", key: mobileKey).status == 200) }
            #expect(try await gateway.get("/orders/1", key: buyer.key).status == 200)
            _ = try await portico.waitForCalls(4, consumer: buyer.user.id)
            func total(_ query: String) async throws -> Int {
                let usage = try await api.call(.get, "/usage?user=\(buyer.user.id)&granularity=hour\(query)")
                return (usage.json["points"] as? [[String: Any]] ?? []).reduce(0) { sum, point in
                    sum + ((point["requests"] as? [String: Any])?["total"] as? Int ?? 0)
                }
            }
            #expect(try await total("") == 4)
            #expect(try await total("&application=\(mobile.id)") == 3)
            let defaultId = try #require(listed.array.first?["id"] as? String)
            #expect(try await total("&application=\(defaultId)") == 1)
            #expect(try await api.call(.get, "/usage?application=nope").status == .unprocessableContent)

            #expect(try await api.call(.delete, "/applications/\(mobile.id)").status == .conflict, "it holds a key")
            let empty = try await api.call(.post, "/users/\(buyer.user.id)/applications", #"{"name": "spare"}"#)
            let renamed = try await api.call(.patch, "/applications/\(empty.id)", #"{"name": "batch", "description": "nightly"}"#)
            #expect(renamed.json["name"] as? String == "batch")
            #expect(try await api.call(.patch, "/applications/\(empty.id)", #"{"name": "mobile"}"#).status == .conflict)
            #expect(try await api.call(.delete, "/applications/\(empty.id)").status == .noContent)
        }
    }

    @Test func aRotatedKeyAndItsSuccessorBothWorkUntilTheOverlapEnds() async throws {
        try await withKeys { api, portico, gateway, buyer in
            let old = try #require(try await KeyService(store: portico.store).list(for: buyer.user.id).first)
            let rotated = try await api.call(.post, "/keys/\(old.id)/rotate", #"{"overlapSeconds": 3600}"#)
            #expect(rotated.status == .created)
            let newKey = try #require((rotated.json["key"] as? [String: Any])?["key"] as? String)
            let replaced = try #require(rotated.json["replaced"] as? [String: Any])
            let expiry = try #require((replaced["expiresAt"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
            #expect(abs(expiry.timeIntervalSinceNow - 3_600) < 60)
            await portico.reloadPolicy()
            #expect(try await gateway.get("/orders/1", key: buyer.key).status == 200, "the old key works during the overlap")
            #expect(try await gateway.get("/orders/1", key: newKey).status == 200)

            let keys = try await KeyService(store: portico.store).list(for: buyer.user.id)
            #expect(keys.first { $0.id.uuidString == (rotated.json["key"] as? [String: Any])?["id"] as? String }?.rotatedFrom == old.id)
            let audit = try await portico.store.read { try await portico.store.audit.recent(limit: 5, offset: 0, on: $0) }
            let entry = try #require(audit.first { $0.action == "key.rotate" })
            #expect(entry.entityId == old.id.uuidString)
            #expect(entry.after?.contains(old.id.uuidString.lowercased()) == true || entry.after?.contains(old.id.uuidString) == true)

            // Rotating again at once with no overlap ends the old key now.
            let successorId = try #require((rotated.json["key"] as? [String: Any])?["id"] as? String)
            let again = try await api.call(.post, "/keys/\(successorId)/rotate", #"{"overlapSeconds": 0}"#)
            let newest = try #require((again.json["key"] as? [String: Any])?["key"] as? String)
            await portico.reloadPolicy()
            #expect(try await gateway.get("/orders/1", key: newKey).status == 401)
            #expect(try await gateway.get("/orders/1", key: newest).status == 200)

            #expect(try await api.call(.post, "/keys/\(successorId)/rotate", "{}").status == .conflict, "an expired key is not rotated")
            #expect(try await api.call(.post, "/keys/\(old.id)/rotate", #"{"overlapSeconds": -1}"#).status == .unprocessableContent)
        }
    }

    @Test func theKeyPolicyCapsTheLifetimeOfNewKeys() async throws {
        try await withKeys { api, _, _, buyer in
            #expect(try await api.call(.get, "/key-policy").json["requireExpiry"] as? Bool == false)
            let saved = try await api.call(.put, "/key-policy", #"{"maxKeyLifetimeDays": 30, "requireExpiry": true}"#)
            #expect(saved.json["maxKeyLifetimeDays"] as? Int == 30)
            #expect(try await api.call(.put, "/key-policy", #"{"maxKeyLifetimeDays": 0, "requireExpiry": true}"#).status == .unprocessableContent)
            let never = try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "forever"}"#)
            #expect(never.status == .unprocessableContent)
            #expect(never.message.contains("expiresAt"))
            let formatter = ISO8601DateFormatter()
            let far = formatter.string(from: Date().addingTimeInterval(40 * 86_400))
            #expect(
                try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "far", "expiresAt": "\#(far)"}"#).status == .unprocessableContent
            )
            let near = formatter.string(from: Date().addingTimeInterval(20 * 86_400))
            #expect(try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "near", "expiresAt": "\#(near)"}"#).status == .created)
        }
    }

    @Test func aScopedKeyReachesOnlyItsAPIsAndScopesMustBeReachable() async throws {
        try await withKeys { api, portico, gateway, buyer in
            let scoped = try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "orders only", "scopes": ["orders"]}"#)
            #expect(scoped.status == .created)
            #expect(scoped.json["scopes"] as? [String] == ["orders"])
            let key = try #require(scoped.json["key"] as? String)
            await portico.reloadPolicy()
            #expect(try await gateway.get("/orders/1", key: key).status == 200)
            let refused = try await gateway.get("/billing/1", key: key)
            #expect(refused.status == 403)
            #expect(try refused.json()["error"] as? String == "key_scope")
            #expect(try refused.json()["message"] as? String == "this API key is scoped to API 'orders' and does not cover API 'billing'")
            #expect(try await gateway.get("/billing/1", key: buyer.key).status == 200, "an unscoped key of the same user")

            let outside = try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "x", "scopes": ["internal"]}"#)
            #expect(outside.status == .unprocessableContent)
            #expect(outside.message.contains("no access to API 'internal'"))
            #expect(try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "x", "scopes": ["nope"]}"#).status == .unprocessableContent)
            #expect(try await api.call(.post, "/users/\(buyer.user.id)/keys", #"{"name": "x", "scopes": []}"#).status == .unprocessableContent)
        }
    }
}
