import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import ServiceLifecycle

/// OIDC-protected APIs' flows and sessions in PostgreSQL, so that any replica finishes a sign-in and accepts a session.
/// Refresh tokens are stored sealed with `box`; without one, sessions keep none and last until they expire.
public struct PostgresOIDCSessionStore: OIDCSessionStore {
    let database: Database
    let repository: GatewayOIDCRepository
    let box: SecretBox?

    public init(database: Database, box: SecretBox?) {
        self.database = database
        self.repository = GatewayOIDCRepository(logger: database.logger)
        self.box = box
    }

    public func startFlow(_ flow: OIDCFlow, stateHash: SecretHash) async throws {
        try await database.read { try await repository.startFlow(flow, stateHash: stateHash, on: $0) }
    }

    public func takeFlow(stateHash: SecretHash) async throws -> OIDCFlow? {
        try await database.read { try await repository.takeFlow(stateHash: stateHash, on: $0) }
    }

    public func create(_ session: OIDCSession, idHash: SecretHash) async throws {
        let claims = String(decoding: try JSONEncoder().encode(JSONValue.object(session.claims)), as: UTF8.self)
        let sealed = try session.refreshToken.flatMap { token in try box?.seal(token) }
        // The ID token only serves as the provider's sign-out hint: kept sealed, or not at all without a key.
        let stored = GatewayOIDCRepository.Session(
            apiId: session.apiId, externalId: session.externalId, claimsJSON: claims, idToken: try box?.seal(session.idToken) ?? "",
            expiresAt: session.expiresAt,
            refreshTokenSealed: sealed, tokenExpiresAt: sealed == nil ? nil : session.tokenExpiresAt)
        try await database.read { try await repository.create(stored, idHash: idHash, on: $0) }
    }

    public func find(idHash: SecretHash) async throws -> OIDCSession? {
        try await database.read { try await repository.find(idHash: idHash, on: $0) }.flatMap(session)
    }

    public func refresh(
        idHash: SecretHash, refresher: @escaping @Sendable (String) async throws -> (refreshToken: String, tokenExpiresAt: Date)
    ) async throws -> OIDCSession? {
        let (repository, box) = (repository, box)
        let outcome: (session: GatewayOIDCRepository.Session?, ended: Bool) = try await database.transaction { connection in
            guard let stored = try await repository.find(idHash: idHash, locked: true, on: connection) else { return (nil, false) }
            // Another replica refreshed it while this one waited for the lock.
            if let expiry = stored.tokenExpiresAt, expiry.timeIntervalSinceNow > OIDCSessions.refreshMarginSeconds { return (stored, false) }
            guard let sealed = stored.refreshTokenSealed, let box, let refreshToken = try? box.open(sealed) else { return (stored, false) }
            do {
                let next = try await refresher(refreshToken)
                try await repository.setTokens(
                    idHash: idHash, refreshTokenSealed: try box.seal(next.refreshToken), tokenExpiresAt: next.tokenExpiresAt, on: connection)
                return (try await repository.find(idHash: idHash, on: connection), false)
            } catch OIDCClient.Failure.unavailable {
                // The provider's outage is not the user's: the session goes on, and the refresh is tried again later.
                return (stored, false)
            } catch {
                try await repository.end(idHash: idHash, on: connection)
                return (nil, true)
            }
        }
        return outcome.ended ? nil : outcome.session.flatMap(session)
    }

    private func session(_ stored: GatewayOIDCRepository.Session) -> OIDCSession? {
        guard case .object(let claims)? = try? JSONDecoder().decode(JSONValue.self, from: Data(stored.claimsJSON.utf8)) else { return nil }
        let refreshToken = stored.refreshTokenSealed.flatMap { sealed in try? box?.open(sealed) }
        return OIDCSession(
            apiId: stored.apiId, externalId: stored.externalId, claims: claims, idToken: (try? box?.open(stored.idToken)) ?? "",
            expiresAt: stored.expiresAt, refreshToken: refreshToken, tokenExpiresAt: stored.tokenExpiresAt)
    }

    public func extend(idHash: SecretHash, until: Date) async throws {
        try await database.read { try await repository.extend(idHash: idHash, until: until, on: $0) }
    }

    public func end(idHash: SecretHash) async throws {
        try await database.read { try await repository.end(idHash: idHash, on: $0) }
    }
}

/// Hears sessions ended on any replica (LISTEN `portico_oidc_sessions`) and forgets them here, so a sign-out is
/// honoured everywhere within moments, with no database query per request.
public struct OIDCSessionFeed: Service, NamedByType {
    let database: Database
    let sessions: OIDCSessions

    public init(database: Database, sessions: OIDCSessions) {
        self.database = database
        self.sessions = sessions
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await database.client.withConnection { connection in
                        try await connection.listen(on: GatewayOIDCRepository.channel) { notifications in
                            for try await notification in notifications {
                                if let hash = Self.hash(hex: notification.payload) { sessions.forget(hash) }
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    database.logger.warning("OIDC session LISTEN lost; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    static func hash(hex: String) -> SecretHash? {
        let characters = Array(hex.utf8)
        guard characters.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return SecretHash(bytes: bytes)
    }
}
