import Foundation
import PorticoCore
import Synchronization

/// An OIDC-protected API's session: whose it is (as the provider's claims say) and until when.
public struct OIDCSession: Sendable {
    public let apiId: UUID
    /// The provider's issuer and the user id claim, as users are known (`issuer|subject`).
    public let externalId: String
    public let claims: [String: JSONValue]
    public let idToken: String
    public var expiresAt: Date
    /// Kept only for APIs with `session.refresh` (sealed in the store).
    public var refreshToken: String?
    /// When the access token runs out: a refresh is due a little before.
    public var tokenExpiresAt: Date?

    public init(
        apiId: UUID, externalId: String, claims: [String: JSONValue], idToken: String, expiresAt: Date, refreshToken: String? = nil,
        tokenExpiresAt: Date? = nil
    ) {
        self.refreshToken = refreshToken
        self.tokenExpiresAt = tokenExpiresAt
        self.apiId = apiId
        self.externalId = externalId
        self.claims = claims
        self.idToken = idToken
        self.expiresAt = expiresAt
    }
}

/// Where OIDC flows and sessions are shared between gateway replicas (PostgreSQL in a running Portico). Ending a
/// session tells every replica, which then `forget`s it.
public protocol OIDCSessionStore: Sendable {
    func startFlow(_ flow: OIDCFlow, stateHash: SecretHash) async throws
    /// The flow, removed so that it is used once; nil when unknown or too old.
    func takeFlow(stateHash: SecretHash) async throws -> OIDCFlow?
    func create(_ session: OIDCSession, idHash: SecretHash) async throws
    /// The session when it exists and has not expired.
    func find(idHash: SecretHash) async throws -> OIDCSession?
    func extend(idHash: SecretHash, until: Date) async throws
    func end(idHash: SecretHash) async throws
    /// Refreshes the session's tokens once across replicas: unless another replica already did, `refresher` gets
    /// the refresh token and returns the next one and the access token's new expiry. When it throws, the session
    /// ends everywhere and nil is returned.
    func refresh(
        idHash: SecretHash, refresher: @escaping @Sendable (String) async throws -> (refreshToken: String, tokenExpiresAt: Date)
    ) async throws -> OIDCSession?
}

/// The sessions this gateway has seen, in memory, so that a request with a known session costs no database query.
/// A session ended anywhere is forgotten here when the store says so.
public final class OIDCSessions: Sendable {
    let store: any OIDCSessionStore
    private let cache = Mutex<[SecretHash: OIDCSession]>([:])

    public init(store: any OIDCSessionStore) { self.store = store }

    /// The session when this gateway knows it and it has not expired.
    func cached(_ hash: SecretHash, now: Date) -> OIDCSession? {
        cache.withLock { cache in
            guard let session = cache[hash] else { return nil }
            guard session.expiresAt > now else {
                cache[hash] = nil
                return nil
            }
            return session
        }
    }

    /// The session from the store (made on another replica, or extended there), remembered here.
    func load(_ hash: SecretHash) async throws -> OIDCSession? {
        guard let session = try await store.find(idHash: hash) else { return nil }
        remember(session, as: hash)
        return session
    }

    func remember(_ session: OIDCSession, as hash: SecretHash) { cache.withLock { $0[hash] = session } }

    /// Pushes a sliding session's expiry on: here at once, in the store when half its window has gone by, so the
    /// store is written at most twice per window.
    func slide(_ hash: SecretHash, session: OIDCSession, window: TimeInterval, now: Date) {
        guard session.expiresAt.timeIntervalSince(now) < window / 2 else { return }
        var extended = session
        extended.expiresAt = now.addingTimeInterval(window)
        remember(extended, as: hash)
        let store = store
        Task { try? await store.extend(idHash: hash, until: extended.expiresAt) }
    }

    /// A refresh is due this long before the access token runs out.
    public static let refreshMarginSeconds: TimeInterval = 5

    /// The session with fresh tokens, or nil when the provider refused (the session is then over everywhere).
    func refresh(
        _ hash: SecretHash, refresher: @escaping @Sendable (String) async throws -> (refreshToken: String, tokenExpiresAt: Date)
    ) async throws -> OIDCSession? {
        guard var refreshed = try await store.refresh(idHash: hash, refresher: refresher) else {
            forget(hash)
            return nil
        }
        // Still due: the provider could not be reached. This replica tries again in half a minute, not per request.
        if let due = refreshed.tokenExpiresAt, due.timeIntervalSinceNow <= Self.refreshMarginSeconds {
            refreshed.tokenExpiresAt = Date().addingTimeInterval(Self.refreshMarginSeconds + 30)
        }
        remember(refreshed, as: hash)
        return refreshed
    }

    /// Ends the session everywhere.
    func end(_ hash: SecretHash) async throws {
        forget(hash)
        try await store.end(idHash: hash)
    }

    /// Called when any replica ended the session.
    public func forget(_ hash: SecretHash) { _ = cache.withLock { $0.removeValue(forKey: hash) } }

    /// Forgets expired sessions (the gateway's periodic pruning).
    func prune(now: Date) { cache.withLock { cache in cache = cache.filter { $0.value.expiresAt > now } } }
}
