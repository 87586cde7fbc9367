import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Sign-in flows through identity providers that a browser has started and not finished yet.
public struct SignInFlowRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// A flow may take this long at the provider (a login form, a second factor) before it is forgotten.
    public static let lifetimeSeconds = 600

    /// A flow as it was started.
    public struct Flow: Sendable {
        public let browserHash: SecretHash
        public let providerId: UUID
        public let area: String
        public let returnTo: String?
        public let nonce: String
        public let codeVerifier: String

        public init(browserHash: SecretHash, providerId: UUID, area: String, returnTo: String?, nonce: String, codeVerifier: String) {
            self.browserHash = browserHash
            self.providerId = providerId
            self.area = area
            self.returnTo = returnTo
            self.nonce = nonce
            self.codeVerifier = codeVerifier
        }
    }

    /// Stores a new flow under its state's hash, and forgets flows that outlived `lifetimeSeconds`.
    public func start(_ flow: Flow, stateHash: SecretHash, on connection: PostgresConnection) async throws {
        try await connection.query(
            "DELETE FROM oidc_sign_in_flows WHERE created_at < now() - make_interval(secs => \(Self.lifetimeSeconds))", logger: logger)
        try await connection.query(
            """
            INSERT INTO oidc_sign_in_flows (state_hash, browser_hash, provider_id, area, return_to, nonce, code_verifier)
            VALUES (\(Data(stateHash.bytes)), \(Data(flow.browserHash.bytes)), \(flow.providerId), \(flow.area), \(flow.returnTo),
                    \(flow.nonce), \(flow.codeVerifier))
            """, logger: logger)
    }

    /// The flow of this state, removed so that it is used once; nil when there is none or it is too old.
    public func take(stateHash: SecretHash, on connection: PostgresConnection) async throws -> Flow? {
        let rows = try await connection.query(
            """
            DELETE FROM oidc_sign_in_flows WHERE state_hash = \(Data(stateHash.bytes))
            RETURNING browser_hash, provider_id, area, return_to, nonce, code_verifier,
                      created_at > now() - make_interval(secs => \(Self.lifetimeSeconds))
            """, logger: logger)
        for try await (browser, providerId, area, returnTo, nonce, verifier, fresh) in rows.decode(
            (Data, UUID, String, String?, String, String, Bool).self)
        {
            guard fresh, let browserHash = SecretHash(bytes: Array(browser)) else { return nil }
            return Flow(browserHash: browserHash, providerId: providerId, area: area, returnTo: returnTo, nonce: nonce, codeVerifier: verifier)
        }
        return nil
    }
}
