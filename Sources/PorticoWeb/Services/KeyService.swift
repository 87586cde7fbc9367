import Foundation
import PorticoCore
import PorticoStore

/// A new key with its secret, which is shown this once.
public struct IssuedKey: Codable, Sendable {
    public var id: UUID
    public var key: String
    public var prefix: String
    public var name: String
    public var expiresAt: Date?
}

/// API keys: issued with their secret shown once, listed, revoked; every change audited.
public struct KeyService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// Issues a key for the user; in JWT mode it starts off and comes on with the switch back. The secret is in the
    /// result only.
    public func create(for userId: UUID, name: String, expiresAt: Date?, by actor: Actor) async throws -> IssuedKey {
        let name = try Validation.name(name)
        if let expiresAt, expiresAt <= Date() { throw PorticoError.invalid(field: "expiresAt", reason: "must be in the future") }
        let secret = SecretFormat.apiKey.generate()
        return try await store.write("key.create", entity: "api_key", by: actor) { connection in
            _ = try await store.users.require(userId, on: connection)
            // In JWT mode keys are off; one made now comes on with the switch back, like the keys the switch turned off.
            let jwtMode = try await store.policy.authMode(on: connection) == .jwt
            let info = try await store.keys.create(
                userId: userId, name: name, secret: secret, expiresAt: expiresAt, disabledByModeSwitch: jwtMode, on: connection)
            let issued = IssuedKey(id: info.id, key: secret.secret, prefix: info.prefix, name: info.name, expiresAt: info.expiresAt)
            return (AdminStore.Change<APIKeyInfo, APIKeyInfo>(before: nil, after: info, entityId: info.id.uuidString), issued)
        }
    }

    /// The user's keys, newest first; a 404 when the user does not exist.
    public func list(for userId: UUID) async throws -> [APIKeyInfo] {
        try await store.read { connection in
            _ = try await store.users.require(userId, on: connection)
            return try await store.keys.list(userId: userId, on: connection)
        }
    }

    public func get(_ id: UUID) async throws -> APIKeyInfo {
        try await store.read { try await store.keys.require(id, on: $0) }
    }

    /// One page of every user's keys, newest first, with their owners' emails.
    public func listAll(limit: Int, offset: Int) async throws -> Page<KeyRepository.OwnedKey> {
        try await store.read { connection in
            Page(
                rows: try await store.keys.listAll(limit: limit, offset: offset, on: connection),
                total: try await store.keys.count(on: connection))
        }
    }

    public func revoke(_ id: UUID, by actor: Actor) async throws -> APIKeyInfo {
        try await store.write("key.revoke", entity: "api_key", by: actor) { connection in
            let before = try await store.keys.require(id, on: connection)
            try await store.keys.revoke(id, on: connection)
            let after = try await store.keys.require(id, on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), after)
        }
    }
}

/// Admin API tokens: issued by the CLI, presented as `Authorization: Bearer pat_…`.
public struct AdminTokenService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// Issues an admin token for the admin with this email; the secret is in the result only.
    public func issue(forEmail email: String, name: String, by actor: Actor) async throws -> IssuedKey {
        let name = try Validation.name(name)
        let secret = SecretFormat.adminToken.generate()
        return try await store.write("admin_token.create", entity: "admin_token", by: actor) { connection in
            guard let user = try await store.users.find(email: email, on: connection) else { throw PorticoError.notFound("user \(email)") }
            guard user.role == .admin else { throw PorticoError.conflict("\(email) is not an admin") }
            let info = try await store.adminTokens.create(userId: user.id, name: name, secret: secret, expiresAt: nil, on: connection)
            let issued = IssuedKey(id: info.id, key: secret.secret, prefix: info.prefix, name: name, expiresAt: nil)
            return (AdminStore.Change<APIKeyInfo, APIKeyInfo>(before: nil, after: info, entityId: info.id.uuidString), issued)
        }
    }

    public func revoke(_ id: UUID, by actor: Actor) async throws {
        try await store.write("admin_token.revoke", entity: "admin_token", by: actor) { connection in
            let before = try await store.adminTokens.require(id, on: connection)
            try await store.adminTokens.revoke(id, on: connection)
            let after = try await store.adminTokens.require(id, on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), ())
        }
    }

    /// The user behind a presented admin token, or nil when the token is unknown or revoked.
    public func authenticate(_ token: some StringProtocol) async throws -> User? {
        guard SecretFormat.adminToken.matches(token) else { return nil }
        let hash = SecretHash(of: token)
        return try await store.read { connection in
            guard let owner = try await store.adminTokens.owner(ofSecretHash: hash, on: connection) else { return nil }
            return try await store.users.find(owner.userId, on: connection)
        }
    }
}
