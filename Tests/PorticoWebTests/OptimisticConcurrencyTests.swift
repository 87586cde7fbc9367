import Foundation
import HTTPTypes
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Every admin resource carries its row version as `ETag`; a change or a deletion sent with a stale `If-Match`
/// is a 412 and changes nothing, and a dashboard edit form opened before someone else's change says so instead of
/// saving over it.
@Suite struct OptimisticConcurrencyTests {
    func etag(_ result: APIResult) -> String? { result.headers[.eTag] }

    @Test(arguments: [
        ("/apis", #"{"name":"orders","pathPrefix":"/orders","upstream":"http://127.0.0.1:9"}"#, #"{"upstream":"http://127.0.0.1:10"}"#),
        ("/plans", #"{"name":"gold","rateLimit":{"limit":10,"period":"1m"}}"#, #"{"name":"gold","rateLimit":{"limit":20,"period":"1m"}}"#),
        ("/users", #"{"email":"ann@example.com"}"#, #"{"name":"Ann"}"#),
    ])
    func aStaleIfMatchIs412AndChangesNothing(path: String, create: String, patch: String) async throws {
        try await withAdminAPI { admin, _ in
            let created = try await admin.call(.post, path, create)
            #expect(created.status == .created)
            let first = try #require(etag(created))
            let read = try await admin.call(.get, "\(path)/\(created.id)")
            #expect(etag(read) == first)

            let changed = try await admin.call(.patch, "\(path)/\(created.id)", patch, ifMatch: first)
            #expect(changed.status == .ok, "\(changed.message)")
            let second = try #require(etag(changed))
            #expect(second != first)

            let stale = try await admin.call(.patch, "\(path)/\(created.id)", create.replacingOccurrences(of: "orders", with: "o2"), ifMatch: first)
            #expect(stale.status == .preconditionFailed)
            #expect(stale.errorCode == "changed_since_read")
            let after = try await admin.call(.get, "\(path)/\(created.id)")
            #expect(after.body == changed.body, "a stale PATCH changed the resource")
            #expect(etag(after) == second)

            #expect(try await admin.call(.delete, "\(path)/\(created.id)", ifMatch: first).status == .preconditionFailed)
            #expect(try await admin.call(.get, "\(path)/\(created.id)").status == .ok, "a stale DELETE deleted it")
            #expect(try await admin.call(.patch, "\(path)/\(created.id)", patch, ifMatch: "not-a-version").status == .preconditionFailed)
            #expect(try await admin.call(.delete, "\(path)/\(created.id)", ifMatch: second).status == .noContent)
        }
    }

    @Test func theAuthSettingsTooRefuseAStaleIfMatch() async throws {
        try await withAdminAPI { admin, _ in
            let secret = String(repeating: "a signing secret ", count: 3)
            let first = try await admin.call(.put, "/auth-settings", #"{"mode":"jwt","jwt":{"signingSecret":"\#(secret)"}}"#)
            #expect(first.status == .ok, "\(first.message)")
            let version = try #require(etag(first))
            let read = try await admin.call(.get, "/auth-settings")
            #expect(etag(read) == version)
            let second = try await admin.call(.put, "/auth-settings", #"{"mode":"api_key"}"#, ifMatch: version)
            #expect(second.status == .ok, "\(second.message)")
            let stale = try await admin.call(.put, "/auth-settings", #"{"mode":"jwt","jwt":{"signingSecret":"\#(secret)"}}"#, ifMatch: version)
            #expect(stale.status == .preconditionFailed)
            #expect(try await admin.call(.get, "/auth-settings").json["mode"] as? String == "api_key", "a stale PUT switched the mode")
        }
    }

    @Test func aDashboardFormOpenedBeforeAnotherChangeDoesNotSaveOverIt() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
            try await web.signIn()
            let opened = try await web.get("/admin/apis/\(api.id)")
            let version = try #require(opened.html.firstMatch(of: /name="version" value="(\d+)"/)?.1)
            // Someone else changes the API meanwhile.
            try await APIService(store: portico.store).update(api.id, APIPatch(upstream: "http://127.0.0.1:10"), by: portico.actor)

            let form: [(String, String)] = [
                ("name", "orders"), ("pathPrefix", "/orders"), ("upstream", "http://127.0.0.1:11"), ("status", "published"),
                ("auth", "default"), ("version", String(version)),
            ]
            let refused = try await web.post("/admin/apis/\(api.id)", form)
            #expect(refused.status == 422)
            #expect(refused.contains("Someone else changed this since you opened it"))
            #expect(try await APIService(store: portico.store).get(api.id).upstream == "http://127.0.0.1:10")

            let current = try #require(refused.html.firstMatch(of: /name="version" value="(\d+)"/)?.1)
            #expect(current != version)
            let saved = try await web.post("/admin/apis/\(api.id)", form.dropLast() + [("version", String(current))])
            #expect(saved.status == 303)
            #expect(try await APIService(store: portico.store).get(api.id).upstream == "http://127.0.0.1:11")
        }
    }

    @Test func theAuthSettingsFormOpenedBeforeAnotherChangeDoesNotSaveOverIt() async throws {
        try await withDashboard { web, portico in
            try await web.signIn()
            let opened = try await web.get("/admin/auth")
            let version = try #require(opened.html.firstMatch(of: /name="version" value="(\d+)"/)?.1)
            // Someone else switches to JWT mode meanwhile.
            let secret = String(repeating: "someone else's secret ", count: 2)
            _ = try await portico.useJWT(["signingSecret": secret])

            let form: [(String, String)] = [("mode", "api_key"), ("userId", "sub"), ("groups", "groups"), ("version", String(version))]
            let refused = try await web.post("/admin/auth", form)
            #expect(refused.status == 422)
            #expect(refused.contains("Someone else changed this since you opened it"))
            let service = AuthSettingsService(store: portico.store, secretBox: portico.secretBox)
            #expect(try await service.current().mode == .jwt, "a stale form switched the mode back")

            let current = try #require(refused.html.firstMatch(of: /name="version" value="(\d+)"/)?.1)
            #expect(current != version)
            let saved = try await web.post("/admin/auth", form.dropLast() + [("version", String(current))])
            #expect(saved.location == "/admin/auth")
            #expect(try await service.current().mode == .apiKey)
        }
    }
}
