import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Identity providers' discovery documents read again: a change is stored and audited, an outage changes nothing.
@Suite struct ProviderRediscoveryTests {
    @Test func aChangedDocumentIsStoredAndAnUnreachableProviderKeepsItsEndpoints() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withTestPortico { portico in
                var settings = IdentityProviderSettings(name: "corp", issuer: issuer)
                settings.clientId = "portico"
                settings.clientConfig = .init(timeoutSeconds: 1, maxRetries: 0)
                let created = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).create(
                    settings, by: portico.actor)
                #expect(created.discovered.endSessionEndpoint == issuer + "/logout")
                let rediscovery = ProviderRediscovery(store: portico.store, interval: .seconds(3600))
                #expect(try await rediscovery.rediscoverAll() == [], "nothing changed")

                provider.override("end_session_endpoint", with: nil)
                provider.override("userinfo_endpoint", with: .string(issuer + "/v2/userinfo"))
                let version = try await portico.store.read { try await portico.store.policy.currentVersion(on: $0) }
                #expect(try await rediscovery.rediscoverAll() == ["corp"])
                let stored = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).get(created.id)
                #expect(stored.discovered.endSessionEndpoint == nil)
                #expect(stored.discovered.userinfoEndpoint == issuer + "/v2/userinfo")
                #expect(try await portico.store.read { try await portico.store.policy.currentVersion(on: $0) } > version, "the gateways reload")
                let audited = try await portico.store.read { connection in
                    try await connection.query(
                        "SELECT count(*) FROM audit_log WHERE action = 'identity_provider.rediscover'", logger: portico.database.logger
                    ).decode(Int.self).reduce(0) { $0 + $1 }
                }
                #expect(audited == 1)

                provider.setDown(true)
                #expect(try await rediscovery.rediscoverAll() == [])
                let kept = try await IdentityProviderService(store: portico.store, secretBox: portico.secretBox).get(created.id)
                #expect(kept.discovered == stored.discovered, "an outage keeps what was found before")
            }
        }
    }
}
