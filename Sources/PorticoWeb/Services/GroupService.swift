import Foundation
import PorticoCore
import PorticoStore

/// One user in one group, as the audit log records a membership change.
public struct Membership: Codable, Sendable {
    public var groupId: UUID
    public var userId: UUID
}

/// Groups and their members; every change audited.
public struct GroupService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func create(name: String, by actor: Actor) async throws -> Group {
        let name = try Validation.identifier(name)
        return try await store.write("group.create", entity: "group", by: actor) { connection in
            let group = try await store.groups.create(name: name, on: connection)
            return (AdminStore.Change<Group, Group>(before: nil, after: group, entityId: group.id.uuidString), group)
        }
    }

    public func list() async throws -> [Group] {
        try await store.read { try await store.groups.list(on: $0) }
    }

    public func get(_ id: UUID) async throws -> Group {
        try await store.read { try await store.groups.require(id, on: $0) }
    }

    /// The ids of every member; a 404 when the group does not exist.
    public func members(of id: UUID) async throws -> [UUID] {
        try await store.read { connection in
            _ = try await store.groups.require(id, on: connection)
            return try await store.groups.members(of: id, on: connection)
        }
    }

    /// One page of the group's members, by email.
    public func members(of id: UUID, limit: Int, offset: Int) async throws -> [User] {
        try await store.read { try await store.users.members(of: id, limit: limit, offset: offset, on: $0) }
    }

    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("group.delete", entity: "group", by: actor) { connection in
            let before = try await store.groups.require(id, on: connection)
            try await store.groups.delete(id, on: connection)
            return (AdminStore.Change<Group, Group>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }

    public func addMember(_ userId: UUID, to groupId: UUID, by actor: Actor) async throws {
        try await store.write("group.member.add", entity: "group", by: actor) { connection in
            _ = try await store.groups.require(groupId, on: connection)
            _ = try await store.users.require(userId, on: connection)
            _ = try await store.groups.addMember(userId, to: groupId, on: connection)
            let change = AdminStore.Change<Membership, Membership>(
                before: nil, after: Membership(groupId: groupId, userId: userId), entityId: groupId.uuidString)
            return (change, ())
        }
    }

    public func removeMember(_ userId: UUID, from groupId: UUID, by actor: Actor) async throws {
        try await store.write("group.member.remove", entity: "group", by: actor) { connection in
            _ = try await store.groups.require(groupId, on: connection)
            guard try await store.groups.removeMember(userId, from: groupId, on: connection) else {
                throw PorticoError.notFound("membership of user \(userId) in group \(groupId)")
            }
            let change = AdminStore.Change<Membership, Membership>(
                before: Membership(groupId: groupId, userId: userId), after: nil, entityId: groupId.uuidString)
            return (change, ())
        }
    }
}
