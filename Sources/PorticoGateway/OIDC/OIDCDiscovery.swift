import AsyncHTTPClient
import Foundation
import Logging
import PorticoCore

/// Reads an identity provider's discovery document and checks its key set, with the provider's client settings
/// (timeout, retries, TLS trust). Run when a provider is saved: a provider that cannot be discovered, or whose
/// keys cannot be fetched or parsed, is refused with the reason, and nothing is stored.
public struct OIDCDiscovery: Sendable {
    let http: HTTPClient

    public init() { http = JWKSFetcher.sharedClient }

    /// The provider's metadata, once its document names exactly the configured issuer and its key set holds a key
    /// for one of the algorithms it advertises. Every failure is a 422 on `issuer` saying what went wrong.
    public func discover(_ config: IdentityProviderConfig) async throws(PorticoError) -> ProviderMetadata {
        let fetcher = JWKSFetcher(client: config.client, http: http)
        let fetched: JWKSFetcher.Fetched
        do {
            fetched = try await fetcher.fetch(config.discoveryURL, accept: "application/json")
        } catch {
            throw PorticoError.invalid(field: "issuer", reason: "discovery failed: \(error.description)")
        }
        guard case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: fetched.body) else {
            throw PorticoError.invalid(field: "issuer", reason: "\(config.discoveryURL) did not answer with a JSON object")
        }
        let metadata = try ProviderMetadata.parse(document: document, expectedIssuer: config.issuer)
        // HMAC-signed ID tokens are checked with the client secret, not with the key set.
        let keyAlgorithms = metadata.signingAlgorithms.compactMap(JWTAlgorithmName.init(rawValue:)).filter { $0.family != .hmac }
        guard !keyAlgorithms.isEmpty else { return metadata }
        let keys: JWKSFetcher.Fetched
        do {
            keys = try await fetcher.fetch(metadata.jwksURI)
        } catch {
            throw PorticoError.invalid(field: "issuer", reason: "the provider's key set: \(error.description)")
        }
        do {
            _ = try await VerificationKeys.jwks(
                json: keys.body, algorithms: keyAlgorithms, inconsistent: .skip(Logger(label: "portico.oidc.discovery")))
        } catch {
            throw PorticoError.invalid(field: "issuer", reason: "the provider's key set at \(metadata.jwksURI): \(error)")
        }
        return metadata
    }
}
