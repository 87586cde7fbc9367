import Foundation
import PorticoCore
import PorticoStore

/// A consumer's applications, managed by the consumer on the portal or by an admin on their behalf; audited.
public struct ApplicationService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// The user's applications by name; a 404 when the user does not exist.
    public func list(for userId: UUID) async throws -> [ConsumerApplication] {
        try await store.read { connection in
            _ = try await store.users.require(userId, on: connection)
            return try await store.applications.list(userId: userId, on: connection)
        }
    }

    /// Names by id, for pages listing keys of many users.
    public func names(_ ids: [UUID]) async throws -> [UUID: String] {
        try await store.read { try await store.applications.names(ids, on: $0) }
    }

    public func get(_ id: UUID) async throws -> ConsumerApplication {
        try await store.read { try await store.applications.require(id, on: $0) }
    }

    public func create(for userId: UUID, name: String, description: String?, by actor: Actor) async throws -> ConsumerApplication {
        let name = try Validation.name(name)
        let description = try Self.description(description)
        return try await store.write("application.create", entity: "application", by: actor) { connection in
            _ = try await store.users.require(userId, on: connection)
            let created = try await store.applications.create(userId: userId, name: name, description: description, on: connection)
            return (
                AdminStore.Change<ConsumerApplication, ConsumerApplication>(before: nil, after: created, entityId: created.id.uuidString), created
            )
        }
    }

    public func update(_ id: UUID, name: String?, description: String?, by actor: Actor) async throws -> ConsumerApplication {
        let newName = try name.map { text throws(PorticoError) in try Validation.name(text) }
        let newDescription = try description.map { try Self.description($0) }
        return try await store.write("application.update", entity: "application", by: actor) { connection in
            let before = try await store.applications.require(id, on: connection)
            let name = newName ?? before.name
            if name != before.name, try await store.applications.find(userId: before.userId, name: name, on: connection) != nil {
                throw PorticoError.duplicate("an application named '\(name)'")
            }
            try await store.applications.update(id, name: name, description: newDescription ?? before.description, on: connection)
            let after = try await store.applications.require(id, on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), after)
        }
    }

    /// Deletes an application without keys; one holding keys (revoked ones too, the record of its calls) is a 409.
    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("application.delete", entity: "application", by: actor) { connection in
            let before = try await store.applications.require(id, on: connection)
            guard try await store.applications.deleteIfEmpty(id, on: connection) else {
                throw PorticoError.conflict("application '\(before.name)' holds keys; only an application without keys can be deleted")
            }
            return (AdminStore.Change<ConsumerApplication, ConsumerApplication>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }

    static func description(_ text: String?) throws(PorticoError) -> String {
        let trimmed = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 500 else { throw .invalid(field: "description", reason: "must be at most 500 characters") }
        return trimmed
    }
}

/// The key policy (`GET|PUT /api/v1/key-policy`, the dashboard's API keys page); saving it is audited.
public struct KeyPolicyService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func current() async throws -> KeyPolicy {
        try await store.read { try await store.keyPolicy.current(on: $0) }
    }

    public func save(_ policy: KeyPolicy, by actor: Actor) async throws -> KeyPolicy {
        let policy = try policy.validated()
        return try await store.write("key_policy.update", entity: "key_policy", by: actor) { connection in
            let before = try await store.keyPolicy.current(on: connection)
            try await store.keyPolicy.save(policy, on: connection)
            return (AdminStore.Change(before: before, after: policy, entityId: nil), policy)
        }
    }
}
