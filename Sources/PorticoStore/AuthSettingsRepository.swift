import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The single auth-settings row, and the API-key side of a mode switch.
public struct AuthSettingsRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// The settings as stored, and their version.
    public struct Stored: Sendable {
        public let settings: AuthSettings
        public let version: Int
        public let updatedAt: Date
    }

    /// The stored settings and their version; the defaults (API-key mode) when none were ever saved.
    public func load(on connection: PostgresConnection) async throws -> Stored {
        let rows = try await connection.query(
            "SELECT mode, version, jwt::text, claims_mapping::text, updated_at FROM auth_settings", logger: logger)
        for try await (mode, version, jwt, mapping, updatedAt) in rows.decode((String, Int, String?, String, Date).self) {
            let decoder = JSONDecoder()
            let settings = AuthSettings(
                mode: AuthMode(rawValue: mode) ?? .apiKey,
                jwt: try jwt.map { try decoder.decode(JWTSettings.self, from: Data($0.utf8)) },
                claimsMapping: try decoder.decode(ClaimsMapping.self, from: Data(mapping.utf8)))
            return Stored(settings: settings, version: version, updatedAt: updatedAt)
        }
        return Stored(settings: AuthSettings(), version: 0, updatedAt: Date(timeIntervalSince1970: 0))
    }

    /// Stores `settings` and moves their version on, so every gateway rebuilds its token verifier.
    public func save(_ settings: AuthSettings, on connection: PostgresConnection) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let jwt = try settings.jwt.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let mapping = String(decoding: try encoder.encode(settings.claimsMapping), as: UTF8.self)
        try await connection.query(
            """
            UPDATE auth_settings SET mode = \(settings.mode.rawValue), jwt = \(jwt)::jsonb, claims_mapping = \(mapping)::jsonb,
                   version = version + 1, updated_at = now()
            """, logger: logger)
    }

    /// API key → JWT: every active key off. Revoked and expired keys are left as they are, so that a switch back
    /// turns on exactly the keys turned off here.
    public func turnKeysOff(on connection: PostgresConnection) async throws -> Int {
        try await count(
            connection.query(
                """
                WITH changed AS (
                    UPDATE api_keys SET disabled_by_mode_switch = true
                    WHERE NOT disabled_by_mode_switch AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                    RETURNING 1)
                SELECT count(*) FROM changed
                """, logger: logger))
    }

    /// JWT → API key: the keys the switch turned off come back on; a key revoked meanwhile stays revoked.
    public func turnKeysOn(on connection: PostgresConnection) async throws -> Int {
        try await count(
            connection.query(
                """
                WITH changed AS (
                    UPDATE api_keys SET disabled_by_mode_switch = false WHERE disabled_by_mode_switch AND revoked_at IS NULL
                    RETURNING 1)
                SELECT count(*) FROM changed
                """, logger: logger))
    }

    /// A key that a switch to JWT mode would turn off.
    public struct AffectedKey: Codable, Sendable, Equatable {
        public var id: UUID
        public var name: String
        public var prefix: String
        public var userId: UUID
        public var userEmail: String
    }

    /// A user who would have no working credential after a switch to JWT mode.
    public struct AffectedUser: Codable, Sendable, Equatable {
        public var id: UUID
        public var email: String
    }

    /// The keys a switch to JWT mode would turn off (`on == false`) or a switch back would turn on.
    public func keysAffected(bySwitchingOn on: Bool, limit: Int, on connection: PostgresConnection) async throws -> (
        total: Int, sample: [AffectedKey]
    ) {
        let condition =
            on
            ? "k.disabled_by_mode_switch AND k.revoked_at IS NULL"
            : "NOT k.disabled_by_mode_switch AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"
        let total = try await count(connection.query("SELECT count(*) FROM api_keys k WHERE \(unescaped: condition)", logger: logger))
        let rows = try await connection.query(
            """
            SELECT k.id, k.name, k.prefix, u.id, u.email FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE \(unescaped: condition) ORDER BY u.email, k.created_at LIMIT \(limit)
            """, logger: logger)
        var sample: [AffectedKey] = []
        for try await (id, name, prefix, userId, email) in rows.decode((UUID, String, String, UUID, String).self) {
            sample.append(AffectedKey(id: id, name: name, prefix: prefix, userId: userId, userEmail: email))
        }
        return (total, sample)
    }

    /// Users who call APIs with keys today and have no identity-provider account Portico has seen: switching to
    /// JWT mode leaves them without a way in.
    public func usersOnlyWithKeys(limit: Int, on connection: PostgresConnection) async throws -> (total: Int, sample: [AffectedUser]) {
        try await users(
            where: """
                u.external_id IS NULL AND EXISTS (SELECT 1 FROM api_keys k WHERE k.user_id = u.id AND NOT k.disabled_by_mode_switch
                    AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))
                """, limit: limit, on: connection)
    }

    /// Users seen through tokens who hold no key that a switch back would turn on.
    public func tokenUsersWithoutKeys(limit: Int, on connection: PostgresConnection) async throws -> (total: Int, sample: [AffectedUser]) {
        try await users(
            where: """
                u.external_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL
                    AND (k.expires_at IS NULL OR k.expires_at > now()))
                """, limit: limit, on: connection)
    }

    private func users(where condition: String, limit: Int, on connection: PostgresConnection) async throws -> (total: Int, sample: [AffectedUser]) {
        let total = try await count(connection.query("SELECT count(*) FROM users u WHERE \(unescaped: condition)", logger: logger))
        let rows = try await connection.query(
            "SELECT u.id, u.email FROM users u WHERE \(unescaped: condition) ORDER BY u.email LIMIT \(limit)", logger: logger)
        var sample: [AffectedUser] = []
        for try await (id, email) in rows.decode((UUID, String).self) { sample.append(AffectedUser(id: id, email: email)) }
        return (total, sample)
    }

    private func count(_ rows: PostgresRowSequence) async throws -> Int {
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}
