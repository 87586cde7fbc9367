import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Applications: a consumer's named groups of credentials (`applications`).
public struct ApplicationRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func create(userId: UUID, name: String, description: String, on connection: PostgresConnection) async throws -> ConsumerApplication {
        let rows = try await connection.query(
            """
            INSERT INTO applications (user_id, name, description) VALUES (\(userId), \(name), \(description))
            ON CONFLICT (user_id, name) DO NOTHING RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await decode(rows).first else { throw PorticoError.duplicate("an application named '\(name)'") }
        return created
    }

    public func list(userId: UUID, on connection: PostgresConnection) async throws -> [ConsumerApplication] {
        try await decode(
            connection.query("SELECT \(unescaped: Self.columns) FROM applications WHERE user_id = \(userId) ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> ConsumerApplication? {
        try await decode(connection.query("SELECT \(unescaped: Self.columns) FROM applications WHERE id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> ConsumerApplication {
        guard let application = try await find(id, on: connection) else { throw PorticoError.notFound("application \(id)") }
        return application
    }

    /// The user's application of this name, nil when there is none.
    public func find(userId: UUID, name: String, on connection: PostgresConnection) async throws -> ConsumerApplication? {
        try await decode(
            connection.query(
                "SELECT \(unescaped: Self.columns) FROM applications WHERE user_id = \(userId) AND name = \(name)", logger: logger)
        ).first
    }

    public func update(_ id: UUID, name: String, description: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE applications SET name = \(name), description = \(description) WHERE id = \(id)", logger: logger)
    }

    /// Deletes an application that holds no key (revoked ones included: they are the record).
    public func deleteIfEmpty(_ id: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "DELETE FROM applications WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM api_keys WHERE application_id = \(id)) RETURNING id",
            logger: logger)
        return try await rows.decode(UUID.self).first(where: { _ in true }) != nil
    }

    /// Names by id, for pages listing keys of several applications.
    public func names(_ ids: [UUID], on connection: PostgresConnection) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        var names: [UUID: String] = [:]
        for try await (id, name) in try await connection.query(
            "SELECT id, name FROM applications WHERE id = ANY(\(Array(Set(ids)))::uuid[])", logger: logger
        ).decode((UUID, String).self) {
            names[id] = name
        }
        return names
    }

    private static let columns = "id, user_id, name, description, created_at"

    private func decode(_ rows: PostgresRowSequence) async throws -> [ConsumerApplication] {
        var applications: [ConsumerApplication] = []
        for try await (id, userId, name, description, createdAt) in rows.decode((UUID, UUID, String, String, Date).self) {
            applications.append(ConsumerApplication(id: id, userId: userId, name: name, description: description, createdAt: createdAt))
        }
        return applications
    }
}

/// The admins' rules for new keys (`key_policy`, one row).
public struct KeyPolicyRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func current(on connection: PostgresConnection) async throws -> KeyPolicy {
        let rows = try await connection.query("SELECT max_lifetime_days, require_expiry FROM key_policy", logger: logger)
        for try await (days, required) in rows.decode((Int?, Bool).self) { return KeyPolicy(maxKeyLifetimeDays: days, requireExpiry: required) }
        return KeyPolicy()
    }

    public func save(_ policy: KeyPolicy, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE key_policy SET max_lifetime_days = \(policy.maxKeyLifetimeDays), require_expiry = \(policy.requireExpiry), updated_at = now()
            """, logger: logger)
    }
}
