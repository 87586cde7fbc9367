import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// What creating a user needs.
public struct NewUser: Sendable {
    public var email: String
    public var name: String
    public var role: Role
    public var passwordHash: String?
    public var externalId: String?

    public init(email: String, name: String, role: Role, passwordHash: String? = nil, externalId: String? = nil) {
        self.email = email
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.externalId = externalId
    }
}

/// Users, their group memberships, password hashes and the token users the gateway reports.
public struct UserRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let columns = """
        u.id, u.email, u.name, u.external_id, u.role, u.disabled, u.created_at, u.last_seen_at, u.token_name,
        coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM memberships m JOIN groups g ON g.id = m.group_id
                  WHERE m.user_id = u.id), '{}') AS groups
        """

    public func create(_ user: NewUser, on connection: PostgresConnection) async throws -> User {
        let rows = try await connection.query(
            """
            INSERT INTO users (email, name, role, password_hash, external_id)
            VALUES (\(user.email), \(user.name), \(user.role.rawValue), \(user.passwordHash), \(user.externalId))
            RETURNING id
            """, logger: logger)
        let id = try await rows.decode(UUID.self).first { _ in true }
        guard let id else { throw PorticoError.conflict("the user was not created") }
        return try await require(id, on: connection)
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> User? {
        try await fetch("SELECT \(unescaped: Self.columns) FROM users u WHERE u.id = \(id)", on: connection).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> User {
        guard let user = try await find(id, on: connection) else { throw PorticoError.notFound("user \(id)") }
        return user
    }

    public func find(email: String, on connection: PostgresConnection) async throws -> User? {
        try await fetch("SELECT \(unescaped: Self.columns) FROM users u WHERE lower(u.email) = lower(\(email))", on: connection).first
    }

    /// The user an identity provider or a token knows by this external id (`issuer|subject` for a provider's).
    public func find(externalId: String, on connection: PostgresConnection) async throws -> User? {
        try await fetch("SELECT \(unescaped: Self.columns) FROM users u WHERE u.external_id = \(externalId)", on: connection).first
    }

    /// Whether an account other than `except` already uses this email (emails are unique, case-insensitively).
    public func emailTaken(_ email: String, except: UUID? = nil, on connection: PostgresConnection) async throws -> Bool {
        guard let user = try await find(email: email, on: connection) else { return false }
        return user.id != except
    }

    public func passwordHash(of id: UUID, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query("SELECT password_hash FROM users WHERE id = \(id)", logger: logger)
        for try await hash in rows.decode(String?.self) { return hash }
        return nil
    }

    /// Users ordered by email; `search` matches email or name, case-insensitively.
    public func list(search: String?, limit: Int, offset: Int, on connection: PostgresConnection) async throws -> [User] {
        let pattern = search.map { "%" + Self.escapeLike($0.lowercased()) + "%" }
        return try await fetch(
            """
            SELECT \(unescaped: Self.columns) FROM users u
            WHERE \(pattern)::text IS NULL OR lower(u.email) LIKE \(pattern) OR lower(u.name) LIKE \(pattern)
               OR lower(coalesce(u.external_id, '')) LIKE \(pattern)
            ORDER BY lower(u.email), u.external_id LIMIT \(limit) OFFSET \(offset)
            """, on: connection)
    }

    /// One page of a group's members, by email.
    public func members(of groupId: UUID, limit: Int, offset: Int, on connection: PostgresConnection) async throws -> [User] {
        try await fetch(
            """
            SELECT \(unescaped: Self.columns) FROM users u JOIN memberships m ON m.user_id = u.id AND m.group_id = \(groupId)
            ORDER BY lower(u.email), u.external_id LIMIT \(limit) OFFSET \(offset)
            """, on: connection)
    }

    /// How many users `list` pages through for the same search.
    public func count(search: String?, on connection: PostgresConnection) async throws -> Int {
        let pattern = search.map { "%" + Self.escapeLike($0.lowercased()) + "%" }
        let rows = try await connection.query(
            """
            SELECT count(*) FROM users u
            WHERE \(pattern)::text IS NULL OR lower(u.email) LIKE \(pattern) OR lower(u.name) LIKE \(pattern)
               OR lower(coalesce(u.external_id, '')) LIKE \(pattern)
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public func count(on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("SELECT count(*) FROM users", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public func update(_ user: User, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE users SET email = \(user.email), name = \(user.name), role = \(user.role.rawValue),
                   disabled = \(user.disabled), updated_at = now()
            WHERE id = \(user.id)
            """, logger: logger)
    }

    public func setPasswordHash(_ hash: String, for id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET password_hash = \(hash), updated_at = now() WHERE id = \(id)", logger: logger)
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM users WHERE id = \(id)", logger: logger)
    }

    /// Replaces the user's memberships with exactly these group ids.
    public func setGroups(_ groupIds: [UUID], of id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM memberships WHERE user_id = \(id)", logger: logger)
        try await connection.query(
            """
            INSERT INTO memberships (user_id, group_id) SELECT \(id), unnest(\(groupIds)::uuid[])
            """, logger: logger)
    }

    /// Writes the token users the gateway has seen: a user is created the first time its external id appears
    /// (with the email claim unless another account already has that email), later sightings only move
    /// `last_seen_at` and the token name. Returns how many users were created.
    public func recordSightings(_ sightings: [UserSighting], on connection: PostgresConnection) async throws -> Int {
        var created = 0
        for sighting in sightings {
            let email = sighting.email ?? ""
            let rows = try await connection.query(
                """
                INSERT INTO users (email, external_id, token_name, last_seen_at)
                VALUES (CASE WHEN \(email) = '' OR EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(\(email))) THEN ''
                             ELSE \(email) END,
                        \(sighting.externalId), \(sighting.tokenName), \(sighting.seenAt))
                ON CONFLICT (external_id) DO UPDATE
                    SET last_seen_at = greatest(users.last_seen_at, EXCLUDED.last_seen_at),
                        token_name = coalesce(EXCLUDED.token_name, users.token_name)
                RETURNING (xmax = 0)
                """, logger: logger)
            for try await inserted in rows.decode(Bool.self) where inserted { created += 1 }
        }
        return created
    }

    private func fetch(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [User] {
        let rows = try await connection.query(query, logger: logger)
        var users: [User] = []
        for try await (id, email, name, externalId, role, disabled, createdAt, lastSeenAt, tokenName, groups) in rows.decode(
            (UUID, String, String, String?, String, Bool, Date, Date?, String?, [String]).self)
        {
            users.append(
                User(
                    id: id, email: email, name: name, externalId: externalId, role: Role(rawValue: role) ?? .consumer,
                    disabled: disabled, groups: groups, createdAt: createdAt, lastSeenAt: lastSeenAt, tokenName: tokenName))
        }
        return users
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
