import AsyncHTTPClient
import Foundation
import JWTKit
import Logging
import PorticoCore

/// Verifies tokens for one version of the JWT settings: the header's algorithm against the allow-list, the
/// signature with a configured key (through jwt-kit), then the registered claims. Keys embedded in the token
/// (`jwk`, `jku`, `x5u`) are never looked at.
public final class JWTVerifier: Sendable {
    public let config: JWTConfig
    private let keys: KeySource

    enum KeySource: Sendable {
        case fixed(VerificationKeys)
        case file(JWKSFileSource)
        case remote(RemoteJWKS)
        case remoteByIssuer(IssuerJWKSDirectory)
    }

    /// A token verified (with its claims), refused (with the reason), or not checkable now (keys unreachable).
    public enum Outcome: Sendable {
        case verified([String: JSONValue])
        case rejected(TokenRejection)
        /// The keys cannot be had right now (the IdP is down and nothing was fetched yet).
        case unavailable(String)
    }

    private let memory = VerifiedTokenMemory()

    init(config: JWTConfig, keys: KeySource) {
        self.config = config
        self.keys = keys
    }

    /// The claims of a token this verifier verified lately, with the time-bound claims checked again for `now`;
    /// nil when it must be verified (`verify`).
    public func remembered(_ token: String, now: Double) -> [String: JSONValue]? {
        guard let generation = keyGeneration(), let claims = memory.claims(of: token, now: now, keyGeneration: generation) else {
            return nil
        }
        if config.rules.failure(in: claims, now: now) != nil { return nil }
        return claims
    }

    /// Which key set is current, so that remembered tokens end with the keys that verified them; nil when it
    /// cannot be told without waiting (a key file due for a look, keys chosen by issuer).
    private func keyGeneration() -> Int? {
        switch keys {
        case .fixed: 0
        case .file(let file): file.checkedGeneration()
        case .remote(let remote): remote.currentGeneration()
        case .remoteByIssuer: nil
        }
    }

    /// `now` is seconds since 1970. `trace` hears of every check, for the explainer.
    public func verify(_ token: some StringProtocol, now: Double, trace: DecisionTrace? = nil) async -> Outcome {
        // Read before the keys are: a set replaced meanwhile makes the entry stale rather than trusted.
        let generation = keyGeneration()
        let jws: CompactJWS
        switch await signed(token, trace: trace) {
        case .verified(let verified): jws = verified
        case .rejected(let rejection): return .rejected(rejection)
        case .unavailable(let reason): return .unavailable(reason)
        }
        let claims: [String: JSONValue]
        do { claims = try jws.claims() } catch {
            trace?.check("claims", .failed, error.reason)
            return .rejected(error)
        }
        if let trace { config.rules.explained(claims, now: now, into: trace) }
        if let failure = config.rules.failure(in: claims, now: now) { return .rejected(.invalid(failure)) }
        if let generation { memory.remember(String(token), claims: claims, now: now, keyGeneration: generation) }
        return .verified(claims)
    }

    /// A token whose signature was made by a configured key (its claims not looked at yet).
    public enum SignatureOutcome: Sendable {
        case verified(CompactJWS)
        case rejected(TokenRejection)
        case unavailable(String)
    }

    /// The first half of `verify`: the token's form, its header, its algorithm against the allow-list and the key's
    /// own `alg`, and its signature.
    public func signed(_ token: some StringProtocol, trace: DecisionTrace? = nil) async -> SignatureOutcome {
        let jws: CompactJWS
        do { jws = try CompactJWS(token) } catch {
            trace?.check("format", .failed, error.reason)
            return .rejected(error)
        }
        trace?.check("format", .passed, "a compact JWS: header, claims and signature")
        if let critical = jws.header.crit {
            let reason = "the token names critical header parameters Portico does not understand: \(critical.joined(separator: ", "))"
            trace?.check("crit", .failed, reason)
            return .rejected(.invalid(reason))
        }
        guard let name = jws.header.alg else {
            trace?.check("alg", .failed, "the token's header has no alg")
            return .rejected(.malformed("the token's header has no alg"))
        }
        guard let algorithm = JWTAlgorithmName(rawValue: name), config.algorithms.contains(algorithm) else {
            trace?.check("alg", .failed, "the token's algorithm \(name) is not accepted")
            return .rejected(.invalid("the token's algorithm \(name) is not accepted"))
        }
        trace?.check("alg", .passed, "\(name) is accepted (\(config.algorithms.map(\.rawValue).sorted().joined(separator: ", ")))")

        let candidates: [any JWTAlgorithm]
        switch keys {
        case .fixed(let fixed):
            candidates = fixed.candidates(kid: jws.header.kid, algorithm: algorithm)
        case .file(let file):
            candidates = await file.currentKeys().candidates(kid: jws.header.kid, algorithm: algorithm)
        case .remote(let remote):
            switch await remote.candidates(kid: jws.header.kid, algorithm: algorithm) {
            case .keys(let found): candidates = found
            case .unavailable(let reason):
                trace?.check("key", .failed, "the keys cannot be fetched: \(reason)")
                return .unavailable(reason)
            }
        case .remoteByIssuer(let directory):
            // Only a trusted issuer may choose where keys are fetched from.
            guard let issuer = jws.unverifiedIssuer(), config.rules.issuers.contains(issuer) else {
                trace?.check("key", .failed, "the token's issuer is not trusted")
                return .rejected(.invalid("the token's issuer is not trusted"))
            }
            switch await directory.source(forIssuer: issuer).candidates(kid: jws.header.kid, algorithm: algorithm) {
            case .keys(let found): candidates = found
            case .unavailable(let reason):
                trace?.check("key", .failed, "the keys cannot be fetched: \(reason)")
                return .unavailable(reason)
            }
        }
        guard !candidates.isEmpty else {
            let reason = jws.header.kid.map { "no key with kid '\($0)' is known" } ?? "no key for algorithm \(name) is configured"
            trace?.check("key", .failed, reason)
            return .rejected(.invalid(reason))
        }
        trace?.check(
            "key", .passed,
            jws.header.kid.map { "the key with kid '\($0)' is known" } ?? "\(candidates.count) configured key(s) for \(name), no kid named")
        guard candidates.contains(where: { (try? $0.verify(jws.signature, signs: jws.signingInput)) == true }) else {
            trace?.check("signature", .failed, "the token's signature is not valid")
            return .rejected(.invalid("the token's signature is not valid"))
        }
        trace?.check("signature", .passed, "verified with jwt-kit")
        return .verified(jws)
    }

    /// Fetches a remote JWK set now (every trusted issuer's, for a path); for checking settings before they are saved.
    func loadRemoteKeys() async throws(VerificationKeys.BuildError) {
        switch keys {
        case .fixed, .file:
            return
        case .remote(let remote):
            try await remote.load()
        case .remoteByIssuer(let directory):
            for issuer in config.rules.issuers { try await directory.source(forIssuer: issuer).load() }
        }
    }
}

/// Builds verifiers from settings: resolves the secret, parses PEM keys and JWK sets through jwt-kit.
public struct JWTVerifierFactory: Sendable {
    let resolver: SecretResolver
    let http: HTTPClient
    let logger: Logger

    public init(resolver: SecretResolver, logger: Logger) {
        self.resolver = resolver
        self.http = JWKSFetcher.sharedClient
        self.logger = logger
    }

    /// Every failure names the setting at fault, for a 422 at save time.
    public func make(_ config: JWTConfig) async throws(PorticoError) -> JWTVerifier {
        let fetcher = JWKSFetcher(client: config.client, http: http)
        let algorithms = config.algorithms
        guard let keySource = config.keySource else {
            throw PorticoError.invalid(field: "jwt", reason: "there is no key source: only identity providers' tokens are accepted")
        }
        switch keySource {
        case .signingSecret(let reference, let base64Encoded):
            let secret = try resolver.signingKey(reference, base64Encoded: base64Encoded)
            let keys = try await built("jwt.signingSecret") {
                try await VerificationKeys.hmac(secret: secret, algorithms: algorithms, algorithmsGiven: config.algorithmsGiven)
            }
            return JWTVerifier(config: config, keys: .fixed(keys))
        case .publicKey(let pem):
            let keys = try await built("jwt.publicKey") { try await VerificationKeys.publicKey(pem: pem, algorithms: algorithms) }
            return JWTVerifier(config: config, keys: .fixed(keys))
        case .jwksFile(let pathOrJSON):
            if pathOrJSON.hasPrefix("{") {
                let keys = try await built("jwt.jwksFile") {
                    try await VerificationKeys.jwks(json: Data(pathOrJSON.utf8), algorithms: algorithms, inconsistent: .refuse)
                }
                return JWTVerifier(config: config, keys: .fixed(keys))
            }
            let source = try await built("jwt.jwksFile") { try await JWKSFileSource.load(path: pathOrJSON, algorithms: algorithms, logger: logger) }
            return JWTVerifier(config: config, keys: .file(source))
        case .jwksURL(let url):
            let cacheSeconds = config.jwksCacheSeconds
            let logger = self.logger
            let make: @Sendable (String) -> RemoteJWKS = { url in
                RemoteJWKS(url: url, fetcher: fetcher, algorithms: algorithms, cacheSeconds: cacheSeconds, logger: logger)
            }
            if url.hasPrefix("/") {
                return JWTVerifier(config: config, keys: .remoteByIssuer(IssuerJWKSDirectory(path: url, make: make)))
            }
            return JWTVerifier(config: config, keys: .remote(make(url)))
        }
    }

    /// `make`, and for a JWKS URL a fetch now, so that unreachable or invalid key sets are refused at save time.
    public func makeChecked(_ config: JWTConfig) async throws(PorticoError) -> JWTVerifier {
        let verifier = try await make(config)
        do {
            try await verifier.loadRemoteKeys()
        } catch {
            throw PorticoError.invalid(field: "jwt.jwksUrl", reason: error.description)
        }
        return verifier
    }

    private func built<Value>(_ field: String, _ body: () async throws -> Value) async throws(PorticoError) -> Value {
        do {
            return try await body()
        } catch let error as VerificationKeys.BuildError {
            throw PorticoError.invalid(field: field, reason: error.description)
        } catch {
            throw PorticoError.invalid(field: field, reason: String(describing: error))
        }
    }
}
