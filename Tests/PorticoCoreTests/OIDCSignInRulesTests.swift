import Foundation
import PorticoCore
import Testing

/// The pure parts of signing in through an identity provider: the authorization URL, PKCE and the ID-token rules.
@Suite struct OIDCSignInRulesTests {
    let now = 1_800_000_000.0

    func claims(_ changes: [String: JSONValue] = [:], removing removed: String? = nil) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "iss": .string("https://idp.example"), "sub": .string("ada"), "aud": .string("portico"), "exp": .number(now + 300),
            "iat": .number(now), "nonce": .string("n-1"),
        ]
        for (name, value) in changes { claims[name] = value }
        if let removed { claims[removed] = nil }
        return claims
    }

    let checks = IDTokenChecks(clientId: "portico", nonce: "n-1", leewaySeconds: 0)

    @Test func aCompleteIDTokenPasses() {
        #expect(checks.failure(in: claims(), now: now) == nil)
        #expect(checks.failure(in: claims(["aud": .array([.string("portico"), .string("other")]), "azp": .string("portico")]), now: now) == nil)
    }

    @Test func eachMissingOrWrongClaimIsNamed() {
        #expect(checks.failure(in: claims(removing: "sub"), now: now) == "the ID token has no sub claim")
        #expect(checks.failure(in: claims(["sub": .string("")]), now: now) == "the ID token has no sub claim")
        #expect(checks.failure(in: claims(removing: "iat"), now: now) == "the ID token has no iat claim")
        #expect(checks.failure(in: claims(removing: "exp"), now: now) == "the ID token has no exp claim")
        #expect(checks.failure(in: claims(["iat": .number(now + 3600)]), now: now) == "the ID token's iat is in the future")
        #expect(checks.failure(in: claims(["aud": .string("other")]), now: now) == "the ID token is not meant for this client")
        #expect(
            checks.failure(in: claims(["aud": .array([.string("portico"), .string("other")])]), now: now)
                == "the ID token has several audiences and no azp claim")
        #expect(checks.failure(in: claims(["azp": .string("other")]), now: now) == "the ID token's azp is another client")
        #expect(checks.failure(in: claims(["nonce": .string("n-2")]), now: now) == "the ID token's nonce does not match this sign-in")
        #expect(checks.failure(in: claims(removing: "nonce"), now: now) == "the ID token's nonce does not match this sign-in")
    }

    @Test func theAuthorizationURLCarriesTheFlowAndAnS256Challenge() throws {
        // The challenge as Python computes it: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()), unpadded.
        let request = AuthorizationRequest(state: "s t", nonce: "n", codeVerifier: "dBjftJeZ4CVP-mJ92K9CJIvxqAMsgxf5ibDmlPFjmj8")
        #expect(request.codeChallenge == "vBteUQWMYj-7SRmRBsgRbTbOW1r6ehmQRAeOKVBzvs8")
        var settings = IdentityProviderSettings(name: "corp", issuer: "https://idp.example")
        settings.clientId = "portico"
        settings.authParams = ["prompt": "login"]
        let metadata = ProviderMetadata(
            issuer: "https://idp.example", authorizationEndpoint: "https://idp.example/auth?tenant=a", tokenEndpoint: "https://idp.example/token",
            jwksURI: "https://idp.example/jwks", userinfoEndpoint: nil, endSessionEndpoint: nil, signingAlgorithms: ["RS256"],
            tokenEndpointAuthMethod: "client_secret_basic", issuerInAuthorizationResponse: false, codeChallengeMethods: ["S256"])
        let url = request.url(provider: try settings.compiled(), metadata: metadata, redirectURI: "https://portico.example/oidc/corp/callback")
        #expect(
            url
                == "https://idp.example/auth?tenant=a&prompt=login&response_type=code&client_id=portico"
                + "&redirect_uri=https%3A%2F%2Fportico.example%2Foidc%2Fcorp%2Fcallback&scope=openid%20profile%20email&state=s%20t&nonce=n"
                + "&code_challenge=vBteUQWMYj-7SRmRBsgRbTbOW1r6ehmQRAeOKVBzvs8&code_challenge_method=S256")
        let random = AuthorizationRequest.random()
        #expect(random.codeVerifier.count == 43 && random.state != random.nonce && random.state != AuthorizationRequest.random().state)
    }

    @Test func theCallbacksAnswerIsReadAgainstTheProvider() throws {
        var settings = IdentityProviderSettings(name: "corp", issuer: "https://idp.example")
        settings.clientId = "portico"
        let provider = try settings.compiled()
        func metadata(namesIssuer: Bool) -> ProviderMetadata {
            ProviderMetadata(
                issuer: "https://idp.example", authorizationEndpoint: "https://idp.example/auth", tokenEndpoint: "https://idp.example/token",
                jwksURI: "https://idp.example/jwks", userinfoEndpoint: nil, endSessionEndpoint: nil, signingAlgorithms: ["RS256"],
                tokenEndpointAuthMethod: "client_secret_basic", issuerInAuthorizationResponse: namesIssuer, codeChallengeMethods: ["S256"])
        }
        let plain = metadata(namesIssuer: false)
        #expect(AuthorizationResponse(["code": "c", "state": "s"], provider: provider, metadata: plain) == .code("c"))
        #expect(
            AuthorizationResponse(["state": "s"], provider: provider, metadata: plain) == .malformed("the answer of 'corp' has no authorization code")
        )
        #expect(
            AuthorizationResponse(["code": ""], provider: provider, metadata: plain) == .malformed("the answer of 'corp' has no authorization code"))
        #expect(
            AuthorizationResponse(["error": "access_denied", "error_description": "no"], provider: provider, metadata: plain)
                == .refused("'corp' did not sign you in (access_denied: no)"))
        #expect(
            AuthorizationResponse(["code": "c", "iss": "https://evil.example"], provider: provider, metadata: plain)
                == .refused("the answer came from issuer 'https://evil.example', not from 'https://idp.example'"))
        let naming = metadata(namesIssuer: true)
        #expect(
            AuthorizationResponse(["code": "c"], provider: provider, metadata: naming)
                == .refused("the answer of 'corp' does not name its issuer (iss), as the provider says it does"))
        #expect(AuthorizationResponse(["code": "c", "iss": "https://idp.example"], provider: provider, metadata: naming) == .code("c"))
    }
}
