import Foundation
import PorticoCore
import Testing

/// The checks an identity provider passes before any fetch, and how its discovery document is read.
@Suite struct IdentityProviderSettingsTests {
    func settings(_ issuer: String = "https://idp.example.com/realms/corp", _ configure: (inout IdentityProviderSettings) -> Void = { _ in })
        -> IdentityProviderSettings
    {
        var settings = IdentityProviderSettings(name: "corp", issuer: issuer)
        configure(&settings)
        return settings
    }

    @Test func defaultsAskForOpenIDAndTakeTheClientIdAsAudience() throws {
        let config = try settings { $0.clientId = "portico" }.compiled()
        #expect(config.scopes == ["openid", "profile", "email"])
        #expect(config.audiences == ["portico"])
        #expect(config.discoveryURL == "https://idp.example.com/realms/corp/.well-known/openid-configuration")
        let given = try settings {
            $0.scopes = ["email"]
            $0.clientId = "portico"
            $0.audiences = ["api://orders"]
        }.compiled()
        #expect(given.scopes == ["openid", "email"], "openid is what makes the request an OpenID Connect one")
        #expect(given.audiences == ["api://orders"])
    }

    @Test func plainHTTPIsForAProviderOnThisMachineOnly() throws {
        #expect(try settings("http://127.0.0.1:8081").compiled().issuer == "http://127.0.0.1:8081")
        #expect(try settings("http://localhost:8081/realms/x").compiled().issuer == "http://localhost:8081/realms/x")
        #expect(throws: PorticoError.self) { try settings("http://idp.example.com").compiled() }
        #expect(throws: PorticoError.self) { try settings("ftp://idp.example.com").compiled() }
        #expect(throws: PorticoError.self) { try settings("idp.example.com").compiled() }
    }

    @Test func aDiscoveryURLDropsTheIssuersTrailingSlash() throws {
        #expect(try settings("https://idp.example.com/").compiled().discoveryURL == "https://idp.example.com/.well-known/openid-configuration")
    }

    func document(_ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var document: [String: JSONValue] = [
            "issuer": .string("https://idp.example.com"), "authorization_endpoint": .string("https://idp.example.com/auth"),
            "token_endpoint": .string("https://idp.example.com/token"), "jwks_uri": .string("https://idp.example.com/certs"),
        ]
        document.merge(extra) { $1 }
        return document
    }

    @Test func theDocumentIsReadWithItsDefaults() throws {
        let metadata = try ProviderMetadata.parse(document: document(), expectedIssuer: "https://idp.example.com")
        #expect(metadata.signingAlgorithms == ["RS256"])
        #expect(metadata.tokenEndpointAuthMethod == "client_secret_basic")
        #expect(!metadata.issuerInAuthorizationResponse)
        #expect(metadata.endSessionEndpoint == nil)
    }

    @Test func capabilitiesComeFromTheDocument() throws {
        let metadata = try ProviderMetadata.parse(
            document: document([
                "id_token_signing_alg_values_supported": .array([.string("none"), .string("ES256"), .string("RS256")]),
                "token_endpoint_auth_methods_supported": .array([.string("client_secret_post")]),
                "authorization_response_iss_parameter_supported": .bool(true),
                "end_session_endpoint": .string("https://idp.example.com/logout"),
            ]), expectedIssuer: "https://idp.example.com")
        #expect(metadata.signingAlgorithms == ["ES256", "RS256"], "none is never accepted")
        #expect(metadata.tokenEndpointAuthMethod == "client_secret_post", "post only when basic is not offered")
        #expect(metadata.issuerInAuthorizationResponse)
        #expect(metadata.endSessionEndpoint == "https://idp.example.com/logout")
    }

    @Test func anIssuerThatDiffersEvenByASlashIsRefused() {
        #expect(throws: PorticoError.self) { try ProviderMetadata.parse(document: document(), expectedIssuer: "https://idp.example.com/") }
        #expect(throws: PorticoError.self) {
            try ProviderMetadata.parse(document: document(["issuer": .null]), expectedIssuer: "https://idp.example.com")
        }
        #expect(throws: PorticoError.self) {
            try ProviderMetadata.parse(document: document(["token_endpoint": .null]), expectedIssuer: "https://idp.example.com")
        }
    }
}
