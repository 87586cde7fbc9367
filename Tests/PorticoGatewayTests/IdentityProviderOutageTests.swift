import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import Testing

/// JWT mode with a `jwksUrl` while the identity provider is down or slow: tokens of keys already fetched keep
/// passing, a `kid` the gateway has never seen is the provider's outage (503 `jwks_unavailable`, `Retry-After`), not
/// the caller's fault, and no request waits on the provider longer than the client timeout.
@Suite struct IdentityProviderOutageTests {
    @Test func knownKeysKeepPassingAndAnUnknownKidIs503WhileTheProviderIsDown() async throws {
        let known = RawP256Key()
        let rotatedIn = RawP256Key()
        let provider = JWKSServer(keys: [known.jwk(kid: "known")])
        let claims = #"{"sub":"user-1","groups":["buyers"]}"#
        try await withJWKSServer(provider) { url in
            try await withJWTGateway(["jwksUrl": "\(url)/jwks", "clientConfig": ["timeoutSeconds": 1, "maxRetries": 1]]) { gateway, _ in
                let token = try known.token(header: #"{"alg":"ES256","kid":"known"}"#, payload: claims)
                #expect(try await gateway.get("/orders", token: token).status == 200)

                provider.setFailing(true)
                var statuses: [Int: Int] = [:]
                for _ in 0..<200 { statuses[try await gateway.get("/orders", token: token).status, default: 0] += 1 }
                #expect(statuses == [200: 200], "a known key while the provider is down")

                let unknown = try rotatedIn.token(header: #"{"alg":"ES256","kid":"rotated-in"}"#, payload: claims)
                let refused = try await gateway.get("/orders", token: unknown)
                #expect(refused.status == 503)
                #expect(try refused.json()["error"] as? String == "jwks_unavailable")
                #expect(refused.header("Retry-After") != nil)
                // Asked again within the refetch interval, the answer is the same, at once, without asking the provider.
                let fetches = provider.fetches
                #expect(try await gateway.get("/orders", token: unknown).status == 503)
                #expect(provider.fetches == fetches)
            }
        }
    }

    @Test func aSlowProviderNeverHoldsARequestLongerThanTheClientTimeout() async throws {
        let known = RawP256Key()
        let provider = JWKSServer(keys: [known.jwk(kid: "known")])
        let claims = #"{"sub":"user-1","groups":["buyers"]}"#
        try await withJWKSServer(provider) { url in
            try await withJWTGateway(["jwksUrl": "\(url)/jwks", "clientConfig": ["timeoutSeconds": 1, "maxRetries": 3]]) { gateway, _ in
                let token = try known.token(header: #"{"alg":"ES256","kid":"known"}"#, payload: claims)
                #expect(try await gateway.get("/orders", token: token).status == 200)
                provider.setDelay(.seconds(8))
                let unknown = try RawP256Key().token(header: #"{"alg":"ES256","kid":"other"}"#, payload: claims)
                let fetchesBefore = provider.fetches
                let clock = ContinuousClock()
                let started = clock.now
                let refused = try await gateway.get("/orders", token: unknown)
                let waited = clock.now - started
                #expect(refused.status == 503)
                // The 1 s timeout is shared by the retries: the first attempt uses it up, so no retry starts. Four
                // attempts of 1 s each would take at least 4 s; the time bound only leaves a loaded machine its slack.
                #expect(provider.fetches - fetchesBefore == 1, "attempts while the provider was slow")
                #expect(waited < .milliseconds(3_500), "waited \(waited)")
                #expect(try await gateway.get("/orders", token: token).status == 200, "known keys pass meanwhile")
            }
        }
    }
}
