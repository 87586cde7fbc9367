import Foundation
import HTTPTypes
import PorticoTestSupport
import Testing

@Suite struct APIsAPITests {
    @Test func createListPatchAndDeleteAnAPI() async throws {
        try await withAdminAPI { admin, _ in
            let created = try await admin.call(
                .post, "/apis", #"{"name":"orders","pathPrefix":"/orders/","upstream":"http://127.0.0.1:9000/v1","stripPrefix":true}"#)
            #expect(created.status == .created)
            #expect(created.json["pathPrefix"] as? String == "/orders")
            #expect(created.json["stripPrefix"] as? Bool == true)
            #expect(created.json["status"] as? String == "published")
            #expect(try await admin.call(.get, "/apis").array.count == 1)

            let patched = try await admin.call(.patch, "/apis/\(created.id)", #"{"host":"api.example.com","status":"deprecated"}"#)
            #expect(patched.json["host"] as? String == "api.example.com")
            #expect(patched.json["status"] as? String == "deprecated")
            let cleared = try await admin.call(.patch, "/apis/\(created.id)", #"{"host":null}"#)
            #expect(cleared.json["host"] == nil)
            #expect(cleared.json["upstream"] as? String == "http://127.0.0.1:9000/v1")

            #expect(try await admin.call(.delete, "/apis/\(created.id)").status == .noContent)
            #expect(try await admin.call(.get, "/apis/\(created.id)").status == .notFound)
        }
    }

    @Test func badAPIInputNamesTheFieldAndWritesNothing() async throws {
        try await withAdminAPI { admin, portico in
            let audits = try await auditCount(portico)
            let noSlash = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"orders","upstream":"http://x"}"#)
            #expect(noSlash.status == .unprocessableContent)
            #expect(noSlash.message.hasPrefix("pathPrefix"))
            let badUpstream = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"ftp://x"}"#)
            #expect(badUpstream.status == .unprocessableContent)
            #expect(badUpstream.message.hasPrefix("upstream"))
            let relative = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"/relative"}"#)
            #expect(relative.message.hasPrefix("upstream"))
            let badHost = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"http://x","host":"http://h:1"}"#)
            #expect(badHost.message.hasPrefix("host"))
            let badStatus = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"http://x","status":"gone"}"#)
            #expect(badStatus.status == .badRequest)
            #expect(try await admin.call(.get, "/apis").array.isEmpty)
            #expect(try await auditCount(portico) == audits)
        }
    }

    @Test func duplicateNamesAndPrefixesAre409() async throws {
        try await withAdminAPI { admin, _ in
            try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"http://x"}"#)
            let sameName = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/b","upstream":"http://x"}"#)
            #expect(sameName.status == .conflict)
            #expect(sameName.message.contains("name"))
            let samePrefix = try await admin.call(.post, "/apis", #"{"name":"b","pathPrefix":"/a","upstream":"http://x"}"#)
            #expect(samePrefix.status == .conflict)
            #expect(samePrefix.message.contains("path_prefix"))
            let otherHost = try await admin.call(.post, "/apis", #"{"name":"c","pathPrefix":"/a","upstream":"http://x","host":"h.example.com"}"#)
            #expect(otherHost.status == .created)
            let second = try await admin.call(.post, "/apis", #"{"name":"d","pathPrefix":"/d","upstream":"http://x"}"#)
            let clash = try await admin.call(.patch, "/apis/\(second.id)", #"{"pathPrefix":"/a"}"#)
            #expect(clash.status == .conflict)
            #expect(try await admin.call(.get, "/apis/\(second.id)").json["pathPrefix"] as? String == "/d")
        }
    }
}

@Suite struct AccessesAPITests {
    @Test func createPatchAndDeleteAnAccessGrant() async throws {
        try await withAdminAPI { admin, _ in
            try await admin.call(.post, "/groups", #"{"name":"gold"}"#)
            try await admin.call(.post, "/apis", #"{"name":"orders","pathPrefix":"/orders","upstream":"http://x"}"#)
            let created = try await admin.call(
                .post, "/accesses", #"{"name":"gold-orders","groups":["gold"],"apis":["orders"],"rateLimit":{"limit":100,"period":"1m"}}"#)
            #expect(created.status == .created)
            #expect(created.json["groups"] as? [String] == ["gold"])
            #expect(created.json["apis"] as? [String] == ["orders"])
            #expect((created.json["rateLimit"] as? [String: Any])?["period"] as? Int == 60)

            let all = try await admin.call(.patch, "/accesses/\(created.id)", #"{"allApis":true,"rateLimit":{"limit":5,"period":90}}"#)
            #expect(all.json["allApis"] as? Bool == true)
            #expect(all.json["apis"] == nil)
            #expect((all.json["rateLimit"] as? [String: Any])?["period"] as? Int == 90)
            let unlimited = try await admin.call(.patch, "/accesses/\(created.id)", #"{"rateLimit":null}"#)
            #expect(unlimited.json["rateLimit"] == nil)
            #expect(try await admin.call(.get, "/accesses").array.count == 1)
            #expect(try await admin.call(.delete, "/accesses/\(created.id)").status == .noContent)
            #expect(try await admin.call(.get, "/accesses/\(created.id)").status == .notFound)
        }
    }

    @Test func badAccessInputIsRefusedAndWritesNothing() async throws {
        try await withAdminAPI { admin, portico in
            try await admin.call(.post, "/groups", #"{"name":"gold"}"#)
            try await admin.call(.post, "/apis", #"{"name":"orders","pathPrefix":"/orders","upstream":"http://x"}"#)
            let audits = try await auditCount(portico)
            let cases: [(String, String)] = [
                (#"{"name":"a","groups":[],"allApis":true}"#, "groups"),
                (#"{"name":"a","groups":["nobody"],"allApis":true}"#, "groups"),
                (#"{"name":"a","groups":["gold"]}"#, "apis"),
                (#"{"name":"a","groups":["gold"],"apis":["orders"],"allApis":true}"#, "apis"),
                (#"{"name":"a","groups":["gold"],"apis":["nowhere"]}"#, "apis"),
                (#"{"name":"a","groups":["gold"],"allApis":true,"rateLimit":{"limit":0,"period":"1m"}}"#, "rateLimit.limit"),
                (#"{"name":"a","groups":["gold"],"allApis":true,"rateLimit":{"limit":5,"period":"1 week"}}"#, "rateLimit.period"),
            ]
            for (body, field) in cases {
                let result = try await admin.call(.post, "/accesses", body)
                #expect(result.status == .unprocessableContent, "\(body)")
                #expect(result.message.hasPrefix(field), "\(body): \(result.message)")
            }
            #expect(try await admin.call(.get, "/accesses").array.isEmpty)
            #expect(try await auditCount(portico) == audits)
            try await admin.call(.post, "/accesses", #"{"name":"a","groups":["gold"],"allApis":true}"#)
            #expect(try await admin.call(.post, "/accesses", #"{"name":"a","groups":["gold"],"allApis":true}"#).status == .conflict)
        }
    }
}

@Suite struct KeysAPITests {
    @Test func aKeyIsShownOnceAndOnlyItsHashIsStored() async throws {
        try await withAdminAPI { admin, portico in
            let user = try await admin.call(.post, "/users", #"{"email":"k@example.com"}"#)
            let created = try await admin.call(.post, "/users/\(user.id)/keys", #"{"name":"ci","expiresAt":"2099-01-01T00:00:00Z"}"#)
            #expect(created.status == .created)
            let key = try #require(created.json["key"] as? String)
            #expect(key.hasPrefix("pk_"))
            #expect(key.hasPrefix(created.json["prefix"] as? String ?? "?"))

            let listed = try await admin.call(.get, "/users/\(user.id)/keys")
            #expect(listed.array.count == 1)
            #expect(listed.array[0]["key"] == nil)
            #expect(listed.array[0]["state"] as? String == "active")
            #expect(!String(decoding: listed.body, as: UTF8.self).contains(key))

            let stored = try await portico.store.read { connection in
                try await connection.query(
                    "SELECT string_agg(encode(secret_hash, 'escape') || prefix || name, '') FROM api_keys", logger: portico.database.logger
                )
                .decode(String?.self).first { _ in true } ?? nil
            }
            #expect(stored?.contains(key) == false)
            let audit = try await portico.store.read { try await portico.store.audit.recent(limit: 50, offset: 0, on: $0) }
            #expect(!audit.contains { ($0.after ?? "").contains(key) })

            let revoked = try await admin.call(.delete, "/keys/\(created.id)")
            #expect(revoked.status == .ok)
            #expect(revoked.json["state"] as? String == "revoked")
        }
    }

    @Test func badKeyInputIsRefused() async throws {
        try await withAdminAPI { admin, _ in
            let user = try await admin.call(.post, "/users", #"{"email":"k@example.com"}"#)
            #expect(try await admin.call(.post, "/users/\(user.id)/keys", #"{"name":""}"#).status == .unprocessableContent)
            let past = try await admin.call(.post, "/users/\(user.id)/keys", #"{"name":"x","expiresAt":"2001-01-01T00:00:00Z"}"#)
            #expect(past.status == .unprocessableContent)
            #expect(past.message.hasPrefix("expiresAt"))
            #expect(try await admin.call(.post, "/users/\(user.id)/keys", #"{"name":"x","expiresAt":"tomorrow"}"#).status == .badRequest)
            #expect(try await admin.call(.post, "/users/\(UUID())/keys", #"{"name":"x"}"#).status == .notFound)
            #expect(try await admin.call(.delete, "/keys/\(UUID())").status == .notFound)
            #expect(try await admin.call(.get, "/users/\(user.id)/keys").array.isEmpty)
        }
    }

    @Test func authSettingsStartInAPIKeyMode() async throws {
        try await withAdminAPI { admin, _ in
            let settings = try await admin.call(.get, "/auth-settings")
            #expect(settings.json["mode"] as? String == "api_key")
        }
    }
}

@Suite struct AdminRequestLimitTests {
    @Test func aJSONBodyOverOneMiBIs413AndChangesNothing() async throws {
        try await withAdminAPI { admin, _ in
            let padding = String(repeating: "x", count: 1 << 20)
            let response = try await admin.call(.post, "/groups", #"{"name":"big","description":"\#(padding)"}"#)
            #expect(response.status == .contentTooLarge)
            #expect(response.json["error"] as? String == "too_large")
            let groups = try await admin.call(.get, "/groups")
            #expect(!String(decoding: groups.body, as: UTF8.self).contains(#""big""#))
        }
    }
}
