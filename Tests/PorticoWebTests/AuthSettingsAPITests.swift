import Foundation
import HTTPTypes
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

private let secret = String(repeating: "auth settings secret ", count: 3)

private func json(_ object: [String: Any]) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
}

@Suite struct AuthSettingsAPITests {
    @Test func aLiteralSecretIsStoredSealedAndReadBackOnlyAsSet() async throws {
        try await withAdminAPI { admin, portico in
            let saved = try await admin.call(.put, "/auth-settings", json(["jwt": ["signingSecret": secret, "issuer": "https://idp"]]))
            #expect(saved.status == .ok)
            let settings = try #require(saved.json["settings"] as? [String: Any])
            #expect(settings["mode"] as? String == "api_key")
            #expect((settings["jwt"] as? [String: Any])?["signingSecret"] as? String == "set")
            #expect(!saved.body.contains(Data(secret.utf8)))

            let read = try await admin.call(.get, "/auth-settings")
            #expect((read.json["jwt"] as? [String: Any])?["signingSecret"] as? String == "set")
            #expect(read.json["version"] as? Int == 2)
            let stored = try await portico.store.read { connection in
                try await connection.query("SELECT jwt::text FROM auth_settings", logger: portico.database.logger).decode(String.self)
                    .reduce("") { $0 + $1 }
            }
            #expect(!stored.contains(secret))
            #expect(stored.contains(SecretBox.storedPrefix))
            let audit = try await portico.store.read { connection in
                try await connection.query("SELECT after::text FROM audit_log WHERE action = 'auth_settings.update'", logger: portico.database.logger)
                    .decode(String.self).reduce("") { $0 + $1 }
            }
            #expect(audit.contains(#""signingSecret": "set""#))
            #expect(!audit.contains(secret))

            // Written back as read, "set" keeps the stored secret.
            let kept = try await admin.call(.put, "/auth-settings", json(["jwt": ["signingSecret": "set", "issuer": "https://idp2"]]))
            #expect(kept.status == .ok)
            let after = try await AuthSettingsRepository(logger: portico.database.logger).load(on: portico.store)
            #expect(after.settings.jwt?.signingSecret?.hasPrefix(SecretBox.storedPrefix) == true)
            #expect(after.settings.jwt?.issuer == "https://idp2")
        }
    }

    @Test func invalidSettingsAre422NamingTheProblemAndTheOldSettingsStay() async throws {
        try await withAdminAPI { admin, portico in
            try await admin.call(.put, "/auth-settings", json(["mode": "jwt", "jwt": ["signingSecret": secret]]))
            let audits = try await auditCount(portico)
            let missingFile = "/nonexistent/\(UUID().uuidString).json"
            let cases: [([String: Any], String)] = [
                (["jwt": [:] as [String: Any]], "jwt: exactly one key source is required"),
                (
                    ["jwt": ["signingSecret": secret, "publicKey": "-----BEGIN PUBLIC KEY-----"]],
                    "jwt.signingSecret, jwt.publicKey: only one key source"
                ),
                (
                    ["jwt": ["publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]],
                    "jwt.publicKey: publicKey is not an RSA, EC or Ed25519"
                ),
                (["jwt": ["jwksFile": missingFile]], "jwt.jwksFile: the file \(missingFile) cannot be read"),
                (["jwt": ["jwksFile": #"{"keys": []}"#]], "jwt.jwksFile: the JWK set holds no signing key"),
                (
                    ["jwt": ["jwksUrl": "http://127.0.0.1:9/certs", "clientConfig": ["maxRetries": 0, "timeoutSeconds": 1]]],
                    "jwt.jwksUrl: fetching http://127.0.0.1:9/certs failed"
                ),
                (
                    ["jwt": ["signingSecret": "env:PORTICO_SURELY_UNSET_\(UUID().uuidString.prefix(6))"]],
                    "jwt.signingSecret: the environment variable"
                ),
                (["jwt": ["signingSecret": "too short"]], "jwt.signingSecret: the signing secret is 9 bytes; HS256 needs at least 32"),
                (
                    ["jwt": ["signingSecret": secret, "claims": "Equals(`grp`, `admin`) &&"]],
                    "jwt.claims: at position 26: the expression ends too early"
                ),
                (["jwt": ["signingSecret": secret, "algorithms": ["none"]]], "jwt.algorithms: 'none' is never accepted"),
                (["jwt": ["signingSecret": secret, "jwksUri": "x"]], "jwt.jwksUri: is not a JWT setting"),
                (["claimsMapping": ["groups": "a..b"]], "claimsMapping.groups: claim path 'a..b' has an empty segment"),
                (["mode": "jwt", "jwt": NSNull()], "jwt: JWT mode needs JWT settings"),
                (["mode": "oidc"], ""),
                (["mod": "jwt"], "mod: is not an auth setting (mode, jwt, claimsMapping)"),
            ]
            for (body, message) in cases {
                let response = try await admin.call(.put, "/auth-settings", json(body))
                #expect(response.status == .unprocessableContent || response.status == .badRequest, "\(body)")
                #expect(response.message.hasPrefix(message), "\(response.message)")
            }
            #expect(try await auditCount(portico) == audits)
            let current = try await admin.call(.get, "/auth-settings")
            #expect(current.json["mode"] as? String == "jwt")
            #expect((current.json["jwt"] as? [String: Any])?["signingSecret"] as? String == "set")
        }
    }

    @Test func aJWKSURLIsFetchedBeforeItIsSaved() async throws {
        let server = JWKSServer(keys: [try TestSigningKey.es256().jwk(kid: "k")])
        try await withJWKSServer(server) { base in
            try await withAdminAPI { admin, _ in
                #expect(try await admin.call(.put, "/auth-settings", json(["jwt": ["jwksUrl": "\(base)/certs"]])).status == .ok)
                server.serveRaw("<html>not a key set</html>")
                let invalid = try await admin.call(.put, "/auth-settings", json(["jwt": ["jwksUrl": "\(base)/other"]]))
                #expect(invalid.status == .unprocessableContent)
                #expect(invalid.message.hasPrefix("jwt.jwksUrl: the JWK set is not valid JSON"))
            }
        }
    }

    @Test func literalSecretsNeedASecretKey() async throws {
        try await withTestPortico { portico in
            let service = AuthSettingsService(store: portico.store, secretBox: nil)
            var jwt = JWTSettings()
            jwt.signingSecret = secret
            await #expect(
                throws: PorticoError.invalid(
                    field: "jwt.signingSecret",
                    reason: "a literal secret is stored encrypted, which needs PORTICO_SECRET_KEY; or give env:NAME or file:/path")
            ) {
                try await service.update(AuthSettingsInput(jwt: .some(jwt)), by: portico.actor)
            }
        }
    }

    @Test func theModeSwitchTurnsKeysOffAndBackOnExactlyThoseItTurnedOff() async throws {
        try await withAdminAPI { admin, portico in
            let (_, activeKey) = try await portico.seedConsumer(groups: ["buyers"])
            let (_, revokedLater) = try await portico.seedConsumer(groups: ["buyers"])
            let (_, revokedBefore) = try await portico.seedConsumer(groups: ["buyers"])
            let (_, expired) = try await portico.seedConsumer(groups: ["buyers"])
            try await revoke(revokedBefore, portico)
            _ = try await portico.store.database.transaction { connection in
                try await connection.query(
                    "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE prefix = \(String(expired.prefix(11)))",
                    logger: portico.database.logger)
            }

            let preview = try await admin.call(.post, "/auth-settings/preview", json(["mode": "jwt", "jwt": ["signingSecret": secret]]))
            #expect(preview.status == .ok)
            #expect(preview.json["keysToTurnOff"] as? Int == 2)
            #expect(preview.json["usersLosingAccess"] as? Int == 2)
            #expect((preview.json["keys"] as? [[String: Any]])?.count == 2)
            #expect(try await admin.call(.get, "/auth-settings").json["mode"] as? String == "api_key", "a preview changes nothing")

            let toJWT = try await admin.call(.put, "/auth-settings", json(["mode": "jwt", "jwt": ["signingSecret": secret]]))
            #expect(toJWT.json["keysTurnedOff"] as? Int == 2)
            #expect(
                try await states(portico) == [
                    activeKey.prefix(11): "disabled_by_mode_switch", revokedLater.prefix(11): "disabled_by_mode_switch",
                    revokedBefore.prefix(11): "revoked", expired.prefix(11): "expired",
                ])
            try await withEchoUpstream { upstream in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let refused = try await gateway.get("/orders", key: activeKey)
                    #expect(refused.status == 401)
                    #expect(refused.text.contains("API keys are turned off while Portico is in JWT mode"))
                }
            }

            // While in JWT mode a key is revoked, and a new one is made (it starts off).
            try await revoke(revokedLater, portico)
            let (newUser, newKey) = try await portico.seedConsumer(groups: ["buyers"])
            #expect(try await states(portico)[newKey.prefix(11)] == "disabled_by_mode_switch")

            let back = try await admin.call(.post, "/auth-settings/preview", json(["mode": "api_key"]))
            #expect(back.json["keysToTurnOn"] as? Int == 2)
            let toKeys = try await admin.call(.put, "/auth-settings", json(["mode": "api_key"]))
            #expect(toKeys.json["keysTurnedOn"] as? Int == 2)
            #expect(
                try await states(portico) == [
                    activeKey.prefix(11): "active", revokedLater.prefix(11): "revoked",
                    revokedBefore.prefix(11): "revoked", expired.prefix(11): "expired", newKey.prefix(11): "active",
                ])
            #expect(newUser.email.isEmpty == false)
            // The JWT settings are kept for the next switch.
            #expect((toKeys.json["settings"] as? [String: Any])?["jwt"] != nil)
        }
    }

    @Test func saveWithoutAModeChangeReportsNoKeyCounts() async throws {
        try await withAdminAPI { admin, _ in
            let saved = try await admin.call(.put, "/auth-settings", json(["claimsMapping": ["groups": "realm_access.roles"]]))
            #expect(saved.status == .ok)
            #expect(saved.json["keysTurnedOff"] == nil)
            #expect(((saved.json["settings"] as? [String: Any])?["claimsMapping"] as? [String: Any])?["groups"] as? String == "realm_access.roles")
            #expect(((saved.json["settings"] as? [String: Any])?["claimsMapping"] as? [String: Any])?["userId"] as? String == "sub")
        }
    }

    private func revoke(_ key: String, _ portico: TestPortico) async throws {
        let id = try await portico.store.read { connection in
            try await connection.query("SELECT id FROM api_keys WHERE prefix = \(String(key.prefix(11)))", logger: portico.database.logger)
                .decode(UUID.self).reduce(nil as UUID?) { $1 }
        }
        _ = try await KeyService(store: portico.store).revoke(try #require(id), by: portico.actor)
    }

    private func states(_ portico: TestPortico) async throws -> [Substring: String] {
        let users = try await UserService(store: portico.store).list(search: nil, limit: 100, offset: 0)
        var states: [Substring: String] = [:]
        for user in users {
            for key in try await KeyService(store: portico.store).list(for: user.id) { states[Substring(key.prefix)] = key.state.rawValue }
        }
        return states
    }
}

extension AuthSettingsRepository {
    func load(on store: AdminStore) async throws -> Stored {
        try await store.read { try await self.load(on: $0) }
    }
}

@Suite struct IdentityProviderTLSTests {
    @Test func anHTTPSJWKSIsTrustedThroughTheCABundleOrNotAtAll() async throws {
        let certificate = try SelfSignedCertificate.make()
        let server = JWKSServer(keys: [try TestSigningKey.es256().jwk(kid: "k")])
        try await withHTTPSJWKSServer(server, certificate: certificate) { base in
            try await withAdminAPI { admin, _ in
                let url = "\(base)/certs"
                let untrusted = try await admin.call(.put, "/auth-settings", json(["jwt": ["jwksUrl": url, "clientConfig": ["maxRetries": 0]]]))
                #expect(untrusted.status == .unprocessableContent)
                #expect(untrusted.message.hasPrefix("jwt.jwksUrl: fetching \(url) failed"))

                let viaBundle = try await admin.call(
                    .put, "/auth-settings",
                    json([
                        "jwt": ["jwksUrl": url, "clientConfig": ["caBundle": certificate.certificatePEM]]
                    ]))
                #expect(viaBundle.status == .ok, "\(viaBundle.message)")

                let skipping = try await admin.call(
                    .put, "/auth-settings",
                    json([
                        "jwt": ["jwksUrl": url, "clientConfig": ["insecureSkipVerify": true]]
                    ]))
                #expect(skipping.status == .ok, "\(skipping.message)")
            }
        }
    }
}
