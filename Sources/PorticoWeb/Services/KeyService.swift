import Foundation
import PorticoCore
import PorticoStore
import PostgresNIO

/// A new key with its secret, which is shown this once.
public struct IssuedKey: Codable, Sendable {
    public var id: UUID
    public var key: String
    public var prefix: String
    public var name: String
    public var expiresAt: Date?
    public var applicationId: UUID?
    /// The APIs the key is limited to, by name; nil is every API its owner can reach.
    public var scopes: [String]?
}

/// A rotation's outcome: the new key (its secret shown once) and the old one, which works until `expiresAt`.
public struct RotatedKey: Codable, Sendable {
    public var key: IssuedKey
    public var replaced: APIKeyInfo
}

/// What a new key is to be: its application (by id; the owner's `default` one without) and its scopes (API
/// names; nil for every API).
public struct KeyRequest: Sendable {
    public var name: String
    public var expiresAt: Date?
    public var applicationId: UUID?
    public var scopes: [String]?

    public init(name: String, expiresAt: Date? = nil, applicationId: UUID? = nil, scopes: [String]? = nil) {
        self.name = name
        self.expiresAt = expiresAt
        self.applicationId = applicationId
        self.scopes = scopes
    }
}

/// API keys: issued with their secret shown once, listed, rotated, revoked; every change audited.
public struct KeyService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// Issues a key for the user; in JWT mode it starts off and comes on with the switch back. The secret is in the
    /// result only.
    public func create(for userId: UUID, name: String, expiresAt: Date?, by actor: Actor) async throws -> IssuedKey {
        try await create(for: userId, KeyRequest(name: name, expiresAt: expiresAt), by: actor)
    }

    public func create(for userId: UUID, _ request: KeyRequest, by actor: Actor, now: Date = Date()) async throws -> IssuedKey {
        let name = try Validation.name(request.name)
        let secret = SecretFormat.apiKey.generate()
        return try await store.write("key.create", entity: "api_key", by: actor) { connection in
            let user = try await store.users.require(userId, on: connection)
            try await store.keyPolicy.current(on: connection).check(expiresAt: request.expiresAt, now: now)
            var application: ConsumerApplication?
            if let id = request.applicationId { application = try await self.application(id, of: user, on: connection) }
            let scopes = try await scopeIds(request.scopes, of: user, on: connection)
            // In JWT mode keys are off; one made now comes on with the switch back, like the keys the switch turned off.
            let jwtMode = try await store.policy.authMode(on: connection) == .jwt
            let info = try await store.keys.create(
                userId: userId, name: name, secret: secret, expiresAt: request.expiresAt, disabledByModeSwitch: jwtMode,
                applicationId: application?.id, scopes: scopes?.map(\.id), on: connection)
            let issued = IssuedKey(
                id: info.id, key: secret.secret, prefix: info.prefix, name: info.name, expiresAt: info.expiresAt, applicationId: info.applicationId,
                scopes: scopes?.map(\.name))
            return (AdminStore.Change<APIKeyInfo, APIKeyInfo>(before: nil, after: info, entityId: info.id.uuidString), issued)
        }
    }

    /// Issues a new key in the old one's place (same owner, application, name and scopes) and lets the old one
    /// expire after `overlapSeconds` (7 days without), so clients can switch without downtime. The audit entry
    /// holds both, and the new key names the old one (`rotatedFrom`).
    public func rotate(_ id: UUID, overlapSeconds: Int?, by actor: Actor, now: Date = Date()) async throws -> RotatedKey {
        let overlap = try KeyRotation.checkedOverlap(overlapSeconds)
        let secret = SecretFormat.apiKey.generate()
        return try await store.write("key.rotate", entity: "api_key", by: actor) { connection in
            let old = try await store.keys.require(id, on: connection)
            guard old.state == .active || old.state == .disabledByModeSwitch else {
                throw PorticoError.conflict("key '\(old.name)' is \(old.state.rawValue): only a key in use can be rotated")
            }
            let policy = try await store.keyPolicy.current(on: connection)
            let jwtMode = try await store.policy.authMode(on: connection) == .jwt
            let created = try await store.keys.create(
                userId: old.userId, name: old.name, secret: secret,
                expiresAt: KeyRotation.newKeyExpiry(oldCreated: old.createdAt, oldExpires: old.expiresAt, now: now, policy: policy),
                disabledByModeSwitch: jwtMode, applicationId: old.applicationId, scopes: old.scopes, rotatedFrom: old.id, on: connection)
            try await store.keys.expire(
                old.id, at: KeyRotation.oldKeyExpiry(current: old.expiresAt, now: now, overlapSeconds: overlap), on: connection)
            let replaced = try await store.keys.require(old.id, on: connection)
            let scopeNames = try await names(of: created.scopes, on: connection)
            let issued = IssuedKey(
                id: created.id, key: secret.secret, prefix: created.prefix, name: created.name, expiresAt: created.expiresAt,
                applicationId: created.applicationId, scopes: scopeNames)
            return (
                AdminStore.Change(before: old, after: RotationRecord(replaced: replaced, issued: created), entityId: old.id.uuidString),
                RotatedKey(key: issued, replaced: replaced)
            )
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

    /// API names by id, for showing keys' scopes; a scope whose API was deleted is left out.
    public func apiNames() async throws -> [UUID: String] {
        try await store.read { connection in
            Dictionary(try await store.apis.list(on: connection).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// One of the user's applications; a key made without one goes to their `default` application, which the
    /// `api_keys` trigger chooses (and makes) for every insert, scripts' included.
    private func application(_ id: UUID, of user: User, on connection: PostgresConnection) async throws -> ConsumerApplication {
        guard let application = try await store.applications.find(id, on: connection), application.userId == user.id else {
            throw PorticoError.invalid(field: "applicationId", reason: "no application \(id) belongs to \(user.email)")
        }
        return application
    }

    /// The scopes' APIs, each one the user's groups can reach now; nil for a key without scopes.
    private func scopeIds(_ names: [String]?, of user: User, on connection: PostgresConnection) async throws -> [(id: UUID, name: String)]? {
        guard let names else { return nil }
        guard !names.isEmpty else {
            throw PorticoError.invalid(field: "scopes", reason: "name at least one API, or leave scopes out for every API the user can reach")
        }
        let structure = try await store.policy.loadStructure(on: connection)
        let snapshot = PolicySnapshot(version: 0, apis: structure.apis, keys: [:], consumers: [], grants: structure.grants)
        var scopes: [(id: UUID, name: String)] = []
        for name in Set(names).sorted() {
            guard let api = structure.apis.first(where: { $0.name == name }) else {
                throw PorticoError.invalid(field: "scopes", reason: "there is no API named '\(name)'")
            }
            guard snapshot.access(groups: user.groups, api: api.id) != nil else {
                throw PorticoError.invalid(field: "scopes", reason: "\(user.email)'s groups hold no access to API '\(name)'")
            }
            scopes.append((api.id, api.name))
        }
        return scopes
    }

    private func names(of scopes: [UUID]?, on connection: PostgresConnection) async throws -> [String]? {
        guard let scopes else { return nil }
        let apis = try await store.apis.list(on: connection)
        return apis.filter { scopes.contains($0.id) }.map(\.name).sorted()
    }
}

/// A rotation in the audit log: the old key as it now is, and the key that replaced it.
struct RotationRecord: Codable, Sendable {
    let replaced: APIKeyInfo
    let issued: APIKeyInfo
}

extension KeyService {
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
