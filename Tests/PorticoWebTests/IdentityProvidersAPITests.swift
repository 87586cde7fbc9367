import Foundation
import HTTPTypes
import PorticoCore
import PorticoTestSupport
import Testing

private func json(_ object: [String: Any]) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
}

private let clientSecret = "provider client secret 1234567890"

/// `/api/v1/identity-providers` against a real discovery endpoint: nothing is stored until discovery, the issuer
/// check and the key set all pass.
@Suite struct IdentityProvidersAPITests {
    func providerCount(_ portico: TestPortico) async throws -> Int {
        try await portico.store.read { connection in
            try await connection.query("SELECT count(*) FROM identity_providers", logger: portico.database.logger).decode(Int.self)
                .reduce(0) { $0 + $1 }
        }
    }

    @Test func aDiscoveredProviderIsStoredWithItsEndpointsAndItsSecretOnlySealed() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withAdminAPI { admin, portico in
                let created = try await admin.call(
                    .post, "/identity-providers",
                    json([
                        "name": "corp", "issuer": issuer, "clientId": "portico", "clientSecret": clientSecret,
                        "signIn": ["portal": true], "adminGroups": ["platform"], "claimsMapping": ["groups": "realm_access.roles"],
                    ]))
                #expect(created.status == .created, "\(created.message)")
                #expect(created.json["clientSecret"] as? String == "set")
                #expect(created.json["scopes"] == nil, "defaults are not written into the settings")
                let discovered = try #require(created.json["discovered"] as? [String: Any])
                #expect(discovered["authorizationEndpoint"] as? String == issuer + "/authorize")
                #expect(discovered["tokenEndpoint"] as? String == issuer + "/token")
                #expect(discovered["jwksURI"] as? String == issuer + "/jwks")
                #expect(discovered["endSessionEndpoint"] as? String == issuer + "/logout")
                #expect(discovered["tokenEndpointAuthMethod"] as? String == "client_secret_basic")
                #expect(!created.body.contains(Data(clientSecret.utf8)))

                let listed = try await admin.call(.get, "/identity-providers")
                #expect(listed.array.map { $0["name"] as? String } == ["corp"])
                let read = try await admin.call(.get, "/identity-providers/\(created.id)")
                #expect(read.json["issuer"] as? String == issuer)
                #expect(read.json["clientSecret"] as? String == "set")

                let stored = try await portico.store.read { connection in
                    try await connection.query("SELECT settings::text FROM identity_providers", logger: portico.database.logger)
                        .decode(String.self).reduce("") { $0 + $1 }
                }
                #expect(stored.contains(SecretBox.storedPrefix))
                #expect(!stored.contains(clientSecret))
                let audit = try await portico.store.read { connection in
                    try await connection.query(
                        "SELECT after::text FROM audit_log WHERE action = 'identity_provider.create'", logger: portico.database.logger
                    ).decode(String.self).reduce("") { $0 + $1 }
                }
                #expect(audit.contains(#""clientSecret": "set""#))
                #expect(!audit.contains(clientSecret))
                #expect(!audit.contains(SecretBox.storedPrefix), "not even the sealed secret goes into the audit log")
            }
        }
    }

    @Test func aDocumentNamingAnotherIssuerIsRefusedAndNothingIsStored() async throws {
        // rp-discovery-issuer-not-matching-config
        let provider = try TestOIDCProvider()
        provider.override("issuer", with: .string("https://other.example"))
        try await withTestOIDCProvider(provider) { issuer in
            try await withAdminAPI { admin, portico in
                let refused = try await admin.call(.post, "/identity-providers", json(["name": "corp", "issuer": issuer]))
                #expect(refused.status == .unprocessableContent)
                #expect(refused.message.hasPrefix("issuer: "))
                #expect(refused.message.contains("https://other.example"))
                #expect(try await providerCount(portico) == 0)
            }
        }
    }

    @Test func discoveryAndKeySetFailuresAreRefusedWithTheReason() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withAdminAPI { admin, portico in
                provider.override("jwks_uri", with: nil)
                let noKeys = try await admin.call(.post, "/identity-providers", json(["name": "corp", "issuer": issuer]))
                #expect(noKeys.status == .unprocessableContent)
                #expect(noKeys.message.contains("jwks_uri"))

                provider.override("jwks_uri", with: .string(issuer + "/jwks"))
                provider.serveKeySet(#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#)
                let unusable = try await admin.call(.post, "/identity-providers", json(["name": "corp", "issuer": issuer]))
                #expect(unusable.status == .unprocessableContent)
                #expect(unusable.message.contains("no signing key usable with RS256"))

                provider.override("id_token_signing_alg_values_supported", with: .array([.string("none")]))
                let onlyNone = try await admin.call(.post, "/identity-providers", json(["name": "corp", "issuer": issuer]))
                #expect(onlyNone.status == .unprocessableContent)
                #expect(onlyNone.message.contains("only 'none'"))

                let unreachable = try await admin.call(
                    .post, "/identity-providers",
                    json(["name": "gone", "issuer": "http://127.0.0.1:9", "clientConfig": ["timeoutSeconds": 1, "maxRetries": 0]]))
                #expect(unreachable.status == .unprocessableContent)
                #expect(unreachable.message.contains("discovery failed"))
                #expect(try await providerCount(portico) == 0)
            }
        }
    }

    @Test func badSettingsAreRefusedBeforeAnyFetch() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withAdminAPI { admin, portico in
                let cases: [([String: Any], String)] = [
                    (["name": "corp", "issuer": issuer, "clientSecrt": "x"], "clientSecrt"),
                    (["name": "corp", "issuer": "http://idp.example.com"], "issuer"),
                    (["name": "corp", "issuer": "https://idp.example.com?x=1"], "issuer"),
                    (["name": "corp", "issuer": issuer, "signIn": ["portal": true]], "clientId"),
                    (["name": "corp", "issuer": issuer, "clientSecret": "env:"], "clientSecret"),
                    (["name": "corp", "issuer": issuer, "authParams": ["redirect_uri": "https://evil.example"]], "authParams.redirect_uri"),
                    (["name": "corp", "issuer": issuer, "scopes": ["openid", "bad scope"]], "scopes"),
                    (["name": "corp", "issuer": issuer, "claimsMapping": ["groups": "a..b"]], "claimsMapping.groups"),
                    (["name": "corp", "issuer": issuer, "acceptTokens": true], "audiences"),
                    (["name": "bad name", "issuer": issuer], "name"),
                    (["name": "corp", "issuer": issuer, "signIn": ["admin": true]], "signIn.admin"),
                ]
                for (body, field) in cases {
                    let refused = try await admin.call(.post, "/identity-providers", json(body))
                    #expect(refused.status == .unprocessableContent, "\(body)")
                    #expect(refused.message.hasPrefix(field + ": "), "\(body): \(refused.message)")
                }
                #expect(provider.discoveryFetches == 0, "nothing was fetched for settings that are wrong on their own")
                #expect(try await providerCount(portico) == 0)
            }
        }
    }

    @Test func aPatchKeepsTheSecretRediscoversAndANameIsUnique() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            try await withAdminAPI { admin, portico in
                let created = try await admin.call(
                    .post, "/identity-providers", json(["name": "corp", "issuer": issuer, "clientId": "portico", "clientSecret": "env:CORP_SECRET"]))
                #expect(created.status == .created, "\(created.message)")
                #expect(try await admin.call(.post, "/identity-providers", json(["name": "corp", "issuer": issuer])).status == .conflict)
                let padded = try await admin.call(.post, "/identity-providers", json(["name": " corp ", "issuer": " \(issuer) "]))
                #expect(padded.status == .conflict, "names are stored trimmed, so a padded copy is the same name")

                provider.override("token_endpoint_auth_methods_supported", with: .array([.string("client_secret_post")]))
                var readBack = try await admin.call(.get, "/identity-providers/\(created.id)").json
                readBack["acceptTokens"] = true
                let patched = try await admin.call(
                    .patch, "/identity-providers/\(created.id)",
                    String(decoding: try JSONSerialization.data(withJSONObject: readBack), as: UTF8.self))
                #expect(patched.status == .ok, "\(patched.message)")
                #expect(patched.json["acceptTokens"] as? Bool == true)
                let trusted = try await admin.call(.get, "/auth-settings").json["trustedProviders"] as? [[String: Any]]
                #expect(trusted?.map { $0["name"] as? String } == ["corp"], "the auth settings say which providers JWT mode trusts")
                #expect(patched.json["clientSecret"] as? String == "set")
                #expect((patched.json["discovered"] as? [String: Any])?["tokenEndpointAuthMethod"] as? String == "client_secret_post")
                let stored = try await portico.store.read { connection in
                    try await connection.query("SELECT settings->>'clientSecret' FROM identity_providers", logger: portico.database.logger)
                        .decode(String.self).reduce("") { $0 + $1 }
                }
                #expect(stored == "env:CORP_SECRET", "\"set\" written back kept the reference")

                let api = try await admin.call(.post, "/apis", json(["name": "orders", "pathPrefix": "/orders", "upstream": "http://127.0.0.1:9"]))
                let apiId = try #require(api.json["id"] as? String)
                let narrowed = try await admin.call(.patch, "/apis/\(apiId)", json(["tokenProviders": ["corp"]]))
                #expect(narrowed.json["tokenProviders"] as? [String] == ["corp"], "\(narrowed.message)")
                let inUse = try await admin.call(.delete, "/identity-providers/\(created.id)")
                #expect(inUse.status == .conflict)
                #expect(inUse.message.contains("tokenProviders of API 'orders'"))
                let widened = try await admin.call(.patch, "/apis/\(apiId)", json(["tokenProviders": NSNull()]))
                #expect(widened.status == .ok && widened.json["tokenProviders"] == nil)

                let removed = try await admin.call(.patch, "/identity-providers/\(created.id)", json(["clientSecret": NSNull()]))
                #expect(removed.json["clientSecret"] == nil)

                provider.override("issuer", with: .string("https://other.example"))
                let refused = try await admin.call(.patch, "/identity-providers/\(created.id)", json(["scopes": ["openid"]]))
                #expect(refused.status == .unprocessableContent)
                #expect(try await admin.call(.get, "/identity-providers/\(created.id)").json["scopes"] == nil, "nothing changed")

                #expect(try await admin.call(.delete, "/identity-providers/\(created.id)").status == .noContent)
                #expect(try await admin.call(.get, "/identity-providers/\(created.id)").status == .notFound)
                #expect(try await admin.call(.delete, "/identity-providers/\(created.id)").status == .notFound)
            }
        }
    }

    @Test func onlyAdminsReachIdentityProviders() async throws {
        try await withAdminAPI { admin, _ in
            let refused = try await admin.call(.get, "/identity-providers", token: "pat_nope")
            #expect(refused.status == .unauthorized)
        }
    }
}
