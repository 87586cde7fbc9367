import Foundation
import JWTKit
import Logging
import PorticoCore
import Synchronization

/// A JWK set behind a URL. Cached for `jwksCacheSeconds` (or the response's shorter `max-age`) and refreshed in the
/// background when stale, so a known key never waits on the network. A token naming an unknown `kid` triggers one
/// refetch at once, at most every 10 s, so a flood of made-up kids cannot hammer the IdP. A failed fetch keeps the
/// last good keys.
final class RemoteJWKS: Sendable {
    let url: String
    private let fetcher: JWKSFetcher
    private let algorithms: [JWTAlgorithmName]
    private let cacheSeconds: Int
    private let logger: Logger
    private let state = Mutex(State())

    static let unknownKidRefetchInterval: Duration = .seconds(10)
    /// After a failed fetch, the next attempt waits at least this long (keeping the last good keys meanwhile).
    static let retryAfterFailure: Duration = .seconds(5)

    private struct State {
        var keys: VerificationKeys?
        var freshUntil = ContinuousClock.now
        var lastUnknownKidRefetch: ContinuousClock.Instant?
        var inFlight: Task<Void, Never>?
        var lastError: String?
        /// Counts fetches that brought a different set.
        var generation = 0
        var lastBody: Data?
    }

    init(url: String, fetcher: JWKSFetcher, algorithms: [JWTAlgorithmName], cacheSeconds: Int, logger: Logger) {
        self.url = url
        self.fetcher = fetcher
        self.algorithms = algorithms
        self.cacheSeconds = cacheSeconds
        self.logger = logger
    }

    enum Lookup {
        case keys([any JWTAlgorithm])
        case unavailable(String)
    }

    func candidates(kid: String?, algorithm: JWTAlgorithmName) async -> Lookup {
        let (cached, stale) = state.withLock { ($0.keys, ContinuousClock.now >= $0.freshUntil && $0.inFlight == nil) }
        guard var keys = cached else {
            await refresh()
            guard let loaded = state.withLock({ $0.keys }) else {
                return .unavailable(state.withLock { $0.lastError } ?? "the JWK set could not be fetched")
            }
            return .keys(loaded.candidates(kid: kid, algorithm: algorithm))
        }
        if stale { startBackgroundRefresh() }
        var found = keys.candidates(kid: kid, algorithm: algorithm)
        if found.isEmpty, let kid, !keys.knows(kid: kid) {
            if mayRefetchForUnknownKid() {
                await refresh()
                keys = state.withLock { $0.keys } ?? keys
                found = keys.candidates(kid: kid, algorithm: algorithm)
            }
            // A key the provider may have just rotated in cannot be looked for while it is down: that is its outage,
            // not a bad token.
            if found.isEmpty, !keys.knows(kid: kid), let failure = state.withLock({ $0.lastError }) { return .unavailable(failure) }
        }
        return .keys(found)
    }

    /// Which set is current (nil before the first fetch), starting a background refresh when it is stale, as a
    /// lookup of keys would.
    func currentGeneration() -> Int? {
        let (generation, stale) = state.withLock { state in
            (state.keys == nil ? nil : state.generation, ContinuousClock.now >= state.freshUntil && state.inFlight == nil)
        }
        if stale { startBackgroundRefresh() }
        return generation
    }

    /// Fetches now and reports why the set cannot be used; for checking settings before they are saved.
    func load() async throws(VerificationKeys.BuildError) {
        await refresh()
        if state.withLock({ $0.keys }) == nil {
            throw .unusable(state.withLock { $0.lastError } ?? "the JWK set could not be fetched")
        }
    }

    private func mayRefetchForUnknownKid() -> Bool {
        state.withLock { state in
            let now = ContinuousClock.now
            if let last = state.lastUnknownKidRefetch, now - last < Self.unknownKidRefetchInterval { return false }
            state.lastUnknownKidRefetch = now
            return true
        }
    }

    private func startBackgroundRefresh() {
        _ = inFlightRefresh()
    }

    private func refresh() async {
        await inFlightRefresh().value
    }

    private func inFlightRefresh() -> Task<Void, Never> {
        state.withLock { state in
            if let running = state.inFlight { return running }
            let task = Task { await self.fetchAndInstall() }
            state.inFlight = task
            return task
        }
    }

    private func fetchAndInstall() async {
        do {
            let fetched = try await fetcher.fetch(url)
            let keys = try await VerificationKeys.jwks(json: fetched.body, algorithms: algorithms, inconsistent: .skip(logger))
            let lifetime = min(cacheSeconds, fetched.maxAgeSeconds ?? cacheSeconds)
            state.withLock { state in
                if state.lastBody != fetched.body {
                    state.generation += 1
                    state.lastBody = fetched.body
                }
                state.keys = keys
                state.freshUntil = .now + .seconds(lifetime)
                state.lastError = nil
                state.inFlight = nil
            }
            logger.debug("JWK set fetched", metadata: ["url": "\(url)", "keys": "\(keys.count)"])
        } catch {
            let reason = String(describing: error)
            let hadKeys = state.withLock { state in
                state.freshUntil = .now + Self.retryAfterFailure
                state.lastError = reason
                state.inFlight = nil
                return state.keys != nil
            }
            logger.warning(
                "JWK set fetch failed\(hadKeys ? "; keeping the last good keys" : "")", metadata: ["url": "\(url)", "reason": "\(reason)"])
        }
    }
}

/// One `RemoteJWKS` per issuer, for a `jwksUrl` given as a path resolved against the token's (trusted) issuer.
final class IssuerJWKSDirectory: Sendable {
    private let path: String
    private let make: @Sendable (String) -> RemoteJWKS
    private let sources = Mutex<[String: RemoteJWKS]>([:])

    init(path: String, make: @escaping @Sendable (String) -> RemoteJWKS) {
        self.path = path
        self.make = make
    }

    func source(forIssuer issuer: String) -> RemoteJWKS {
        let url = (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + path
        return sources.withLock { sources in
            if let existing = sources[url] { return existing }
            let made = make(url)
            sources[url] = made
            return made
        }
    }
}
