import Foundation
import PorticoCore
import PorticoStore

/// A new user, as the admin API and the dashboard take it; checked by `UserService`.
public struct UserInput: Sendable {
    public var email: String
    public var name: String?
    public var groups: [String]?
    public var role: Role?

    public init(email: String, name: String? = nil, groups: [String]? = nil, role: Role? = nil) {
        self.email = email
        self.name = name
        self.groups = groups
        self.role = role
    }
}

/// Changes to a user; nil leaves a field as it is.
public struct UserPatch: Sendable {
    public var email: String?
    public var name: String?
    public var groups: [String]?
    public var role: Role?
    public var disabled: Bool?

    public init(email: String? = nil, name: String? = nil, groups: [String]? = nil, role: Role? = nil, disabled: Bool? = nil) {
        self.email = email
        self.name = name
        self.groups = groups
        self.role = role
        self.disabled = disabled
    }
}

/// Portal and dashboard users: created, listed, edited, deleted; every change audited.
public struct UserService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// Creates the user in `input`'s groups; `passwordHash` is for the CLI's first admin, others set theirs through an
    /// invitation.
    public func create(_ input: UserInput, passwordHash: String? = nil, by actor: Actor) async throws -> User {
        let email = try Validation.email(input.email)
        let name = try input.name.map { try Validation.name($0) } ?? ""
        let groups = try input.groups.map { try $0.map { try Validation.identifier($0, field: "groups") } } ?? []
        return try await store.write("user.create", entity: "user", by: actor) { connection in
            let groupIds = try await store.groups.ids(named: groups, field: "groups", on: connection)
            var user = try await store.users.create(
                NewUser(email: email, name: name, role: input.role ?? .consumer, passwordHash: passwordHash), on: connection)
            if !groupIds.isEmpty {
                try await store.users.setGroups(groupIds, of: user.id, on: connection)
                user = try await store.users.require(user.id, on: connection)
            }
            return (AdminStore.Change<User, User>(before: nil, after: user, entityId: user.id.uuidString), user)
        }
    }

    public func list(search: String? = nil, limit: Int = 50, offset: Int = 0) async throws -> [User] {
        let search = search.flatMap { $0.isEmpty ? nil : $0 }
        return try await store.read { try await store.users.list(search: search, limit: limit, offset: offset, on: $0) }
    }

    /// One page of users (those matching `search`, when given) and how many match in all.
    public func page(search: String?, limit: Int, offset: Int) async throws -> Page<User> {
        let search = search.flatMap { $0.isEmpty ? nil : $0 }
        return try await store.read { connection in
            Page(
                rows: try await store.users.list(search: search, limit: limit, offset: offset, on: connection),
                total: try await store.users.count(search: search, on: connection))
        }
    }

    /// The user with this email (compared without case), if any.
    public func find(email: String) async throws -> User? {
        try await store.read { try await store.users.find(email: email, on: $0) }
    }

    public func get(_ id: UUID) async throws -> User {
        try await store.read { try await store.users.require(id, on: $0) }
    }

    public func update(_ id: UUID, _ patch: UserPatch, by actor: Actor) async throws -> User {
        let email = try patch.email.map { try Validation.email($0) }
        let name = try patch.name.map { try Validation.name($0) }
        let groups = try patch.groups.map { try $0.map { try Validation.identifier($0, field: "groups") } }
        return try await store.write("user.update", entity: "user", by: actor) { connection in
            let before = try await store.users.require(id, on: connection)
            var after = before
            if let email { after.email = email }
            if let name { after.name = name }
            if let role = patch.role { after.role = role }
            if let disabled = patch.disabled { after.disabled = disabled }
            if after.id == actor.id, after.role != .admin || after.disabled {
                throw PorticoError.conflict("you cannot demote or disable yourself")
            }
            try await store.users.update(after, on: connection)
            if let groups {
                let ids = try await store.groups.ids(named: groups, field: "groups", on: connection)
                try await store.users.setGroups(ids, of: id, on: connection)
            }
            after = try await store.users.require(id, on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), after)
        }
    }

    public func delete(_ id: UUID, by actor: Actor) async throws {
        guard id != actor.id else { throw PorticoError.conflict("you cannot delete yourself") }
        try await store.write("user.delete", entity: "user", by: actor) { connection in
            let before = try await store.users.require(id, on: connection)
            try await store.users.delete(id, on: connection)
            return (AdminStore.Change<User, User>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }
}
