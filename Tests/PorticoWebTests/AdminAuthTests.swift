import Foundation
import HTTPTypes
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct AdminAuthTests {
    @Test func noTokenIs401WithAChallenge() async throws {
        try await withAdminAPI { admin, _ in
            let anonymous = AdminClient(client: admin.client, token: nil)
            let result = try await anonymous.call(.get, "/users")
            #expect(result.status == .unauthorized)
            #expect(result.errorCode == "unauthenticated")
            #expect(result.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    @Test func anUnknownOrRevokedTokenIs401() async throws {
        try await withAdminAPI { admin, portico in
            #expect(try await admin.call(.get, "/users", token: SecretFormat.adminToken.generate().secret).status == .unauthorized)
            #expect(try await admin.call(.get, "/users", token: "garbage").status == .unauthorized)
            let extra = try await AdminTokenService(store: portico.store).issue(forEmail: portico.admin.email, name: "second", by: .cli)
            #expect(try await admin.call(.get, "/users", token: extra.key).status == .ok)
            try await AdminTokenService(store: portico.store).revoke(extra.id, by: .cli)
            #expect(try await admin.call(.get, "/users", token: extra.key).status == .unauthorized)
        }
    }

    @Test func aConsumerIs403() async throws {
        try await withAdminAPI { admin, portico in
            let consumer = try await UserService(store: portico.store).create(UserInput(email: "c@example.com"), by: .cli)
            _ = try await UserService(store: portico.store).update(consumer.id, UserPatch(role: .admin), by: .cli)
            let token = try await AdminTokenService(store: portico.store).issue(forEmail: "c@example.com", name: "t", by: .cli)
            _ = try await UserService(store: portico.store).update(consumer.id, UserPatch(role: .consumer), by: .cli)
            let result = try await admin.call(.get, "/users", token: token.key)
            #expect(result.status == .forbidden)
            #expect(result.errorCode == "forbidden")
        }
    }

    @Test func probesNeedNoToken() async throws {
        try await withAdminAPI { admin, portico in
            let anonymous = AdminClient(client: admin.client, token: nil)
            #expect(try await anonymous.call(.get, "/healthz").status == .ok)
            let notReady = try await anonymous.call(.get, "/readyz")
            #expect(notReady.status == .serviceUnavailable)
            #expect(notReady.json["policyLoaded"] as? Bool == false)
            await portico.reloadPolicy()
            let ready = try await anonymous.call(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json["database"] as? String == "up")
            #expect((ready.json["policyVersion"] as? Int ?? 0) > 0)
            let metrics = try await anonymous.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
        }
    }
}
