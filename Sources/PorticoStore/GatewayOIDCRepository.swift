import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// OIDC-protected APIs' sign-in flows and sessions, shared by every gateway replica. Ending a session is announced
/// on `portico_oidc_sessions` (the hex of its hash), so every replica forgets it at once.
public struct GatewayOIDCRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public static let channel = "portico_oidc_sessions"
    /// A flow may take this long at the provider before it is forgotten.
    public static let flowLifetimeSeconds = 600

    public struct Session: Sendable {
        public let apiId: UUID
        public let externalId: String
        public let claimsJSON: String
        public let idToken: String
        public let expiresAt: Date
        public let refreshTokenSealed: String?
        public let tokenExpiresAt: Date?

        public init(
            apiId: UUID, externalId: String, claimsJSON: String, idToken: String, expiresAt: Date, refreshTokenSealed: String? = nil,
            tokenExpiresAt: Date? = nil
        ) {
            self.refreshTokenSealed = refreshTokenSealed
            self.tokenExpiresAt = tokenExpiresAt
            self.apiId = apiId
            self.externalId = externalId
            self.claimsJSON = claimsJSON
            self.idToken = idToken
            self.expiresAt = expiresAt
        }
    }

    public func startFlow(_ flow: OIDCFlow, stateHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query(
            "DELETE FROM gateway_oidc_flows WHERE created_at < now() - make_interval(secs => \(Self.flowLifetimeSeconds))", logger: logger)
        try await connection.query(
            """
            INSERT INTO gateway_oidc_flows (state_hash, api_id, browser_hash, nonce, code_verifier, return_to)
            VALUES (\(Data(stateHash.bytes)), \(flow.apiId), \(Data(flow.browserHash.bytes)), \(flow.nonce), \(flow.codeVerifier), \(flow.returnTo))
            """, logger: logger)
    }

    public func takeFlow(stateHash: SecretHash, on connection: PostgresConnection) async throws -> OIDCFlow? {
        let rows = try await connection.query(
            """
            DELETE FROM gateway_oidc_flows WHERE state_hash = \(Data(stateHash.bytes))
            RETURNING api_id, browser_hash, nonce, code_verifier, return_to,
                      created_at > now() - make_interval(secs => \(Self.flowLifetimeSeconds))
            """, logger: logger)
        for try await (apiId, browser, nonce, verifier, returnTo, fresh) in rows.decode((UUID, Data, String, String, String, Bool).self) {
            guard fresh, let browserHash = SecretHash(bytes: Array(browser)) else { return nil }
            return OIDCFlow(apiId: apiId, browserHash: browserHash, nonce: nonce, codeVerifier: verifier, returnTo: returnTo)
        }
        return nil
    }

    /// Stores a session and forgets the expired ones.
    public func create(_ session: Session, idHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM gateway_oidc_sessions WHERE expires_at < now()", logger: logger)
        try await connection.query(
            """
            INSERT INTO gateway_oidc_sessions (id_hash, api_id, external_id, claims, id_token, expires_at, refresh_token, token_expires_at)
            VALUES (\(Data(idHash.bytes)), \(session.apiId), \(session.externalId), \(session.claimsJSON)::jsonb, \(session.idToken),
                    \(session.expiresAt), \(session.refreshTokenSealed), \(session.tokenExpiresAt))
            """, logger: logger)
    }

    /// The live session; `locked` holds its row until the transaction ends, so that one replica refreshes it.
    public func find(idHash: SecretHash, locked: Bool = false, on connection: PostgresConnection) async throws -> Session? {
        let rows = try await connection.query(
            """
            SELECT api_id, external_id, claims::text, id_token, expires_at, refresh_token, token_expires_at FROM gateway_oidc_sessions
            WHERE id_hash = \(Data(idHash.bytes)) AND expires_at > now() \(unescaped: locked ? "FOR UPDATE" : "")
            """, logger: logger)
        for try await (apiId, externalId, claims, idToken, expiresAt, refresh, tokenExpiresAt) in rows.decode(
            (UUID, String, String, String, Date, String?, Date?).self)
        {
            return Session(
                apiId: apiId, externalId: externalId, claimsJSON: claims, idToken: idToken, expiresAt: expiresAt, refreshTokenSealed: refresh,
                tokenExpiresAt: tokenExpiresAt)
        }
        return nil
    }

    public func setTokens(idHash: SecretHash, refreshTokenSealed: String, tokenExpiresAt: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE gateway_oidc_sessions SET refresh_token = \(refreshTokenSealed), token_expires_at = \(tokenExpiresAt)
            WHERE id_hash = \(Data(idHash.bytes))
            """, logger: logger)
    }

    public func extend(idHash: SecretHash, until: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE gateway_oidc_sessions SET expires_at = \(until) WHERE id_hash = \(Data(idHash.bytes)) AND expires_at < \(until)",
            logger: logger)
    }

    /// Deletes the session and tells every gateway (delivered at commit when inside a transaction).
    public func end(idHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM gateway_oidc_sessions WHERE id_hash = \(Data(idHash.bytes))", logger: logger)
        let hex = idHash.bytes.map { String(format: "%02x", $0) }.joined()
        try await connection.query("SELECT pg_notify(\(Self.channel), \(hex))", logger: logger)
    }
}
