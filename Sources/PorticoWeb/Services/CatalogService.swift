import Foundation
import PorticoCore
import PorticoStore
import PostgresNIO

/// One API as a consumer finds it in the catalog: whether they may call it, and where their request stands.
public struct CatalogEntry: Sendable {
    public let api: APIDefinition
    public let settings: APICatalogSettings
    public let callable: Bool
    /// Their newest request for it, if any.
    public let request: AccessRequest?
}

/// The portal's catalog (who sees which API) and access requests: a consumer asks for an API under one of its
/// offered plans; an admin approves, which adds the consumer to a group of their own and grants it the API under
/// that plan (creating the grant, or extending the one that consumer already holds on that plan), or rejects with a
/// reason. An API with `autoApprove` is approved at once. Every step is audited.
public struct CatalogService: Sendable {
    let store: AdminStore
    let consumerAccess: ConsumerAccessService

    public init(store: AdminStore) {
        self.store = store
        self.consumerAccess = ConsumerAccessService(store: store)
    }

    public func settings(of api: UUID) async throws -> APICatalogSettings {
        try await store.read { connection in
            _ = try await store.apis.require(api, on: connection)
            return try await store.catalog.settings(of: api, on: connection)
        }
    }

    /// Replaces the API's catalog entry; groups and plans must exist.
    public func save(_ settings: APICatalogSettings, of api: UUID, by actor: Actor) async throws -> APICatalogSettings {
        var checked = settings
        if case .groups(let groups) = settings.visibility {
            guard !groups.isEmpty else { throw PorticoError.invalid(field: "visibility.groups", reason: "name at least one group") }
            checked.visibility = .groups(try AccessService.groups(groups).sorted())
        }
        checked.plans = Array(Set(try settings.plans.map { try Validation.identifier($0, field: "plans") })).sorted()
        let saved = checked
        return try await store.write("api.catalog.save", entity: "api", by: actor) { connection in
            _ = try await store.apis.require(api, on: connection)
            let before = try await store.catalog.settings(of: api, on: connection)
            var groupIds: [UUID] = []
            if case .groups(let groups) = saved.visibility {
                groupIds = try await store.groups.ids(named: groups, field: "visibility.groups", on: connection)
            }
            let planIds = try await store.plans.ids(named: saved.plans, field: "plans", on: connection)
            try await store.catalog.save(saved, groupIds: groupIds, planIds: planIds, api: api, on: connection)
            return (AdminStore.Change(before: before, after: saved, entityId: api.uuidString), saved)
        }
    }

    /// The APIs `user` sees: those their groups may call, and the others whose visibility shows them, by name.
    public func catalog(for user: User) async throws -> [CatalogEntry] {
        let callable = Set(try await consumerAccess.access(of: user).map(\.api.id))
        return try await store.read { connection in
            let settings = try await store.catalog.settings(on: connection)
            let requests = try await store.catalog.requests(status: nil, user: user.id, on: connection)
            return try await store.apis.list(on: connection).filter { $0.status != .disabled }.compactMap { api in
                let entry = settings[api.id] ?? .unlisted
                guard entry.visibility.shows(toMemberOf: user.groups, callable: callable.contains(api.id)) else { return nil }
                return CatalogEntry(
                    api: api, settings: entry, callable: callable.contains(api.id), request: requests.first { $0.apiId == api.id })
            }
        }
    }

    /// A consumer's request: for an API they see and cannot call yet, under one of its offered plans (or none when
    /// it offers none). Approved at once when the API says so.
    public func request(api: UUID, plan: String?, reason: String, by user: User, actor: Actor) async throws -> AccessRequest {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw PorticoError.invalid(field: "reason", reason: "say in a few words what you need the API for") }
        guard reason.count <= 500 else { throw PorticoError.invalid(field: "reason", reason: "keep it under 500 characters") }
        guard let entry = try await catalog(for: user).first(where: { $0.api.id == api }) else { throw PorticoError.notFound("API \(api)") }
        guard !entry.callable else { throw PorticoError.conflict("you may already call API '\(entry.api.name)'") }
        let chosen = plan.flatMap { $0.isEmpty ? nil : $0 }
        if let chosen, !entry.settings.plans.contains(chosen) {
            throw PorticoError.invalid(field: "plan", reason: "API '\(entry.api.name)' does not offer plan '\(chosen)'")
        }
        if chosen == nil, !entry.settings.plans.isEmpty {
            throw PorticoError.invalid(field: "plan", reason: "choose one of the plans: \(entry.settings.plans.joined(separator: ", "))")
        }
        let created = try await store.write("access-request.create", entity: "access-request", by: actor) { connection in
            var planId: UUID?
            if let chosen { planId = try await store.plans.id(named: chosen, field: "plan", on: connection) }
            let request = try await store.catalog.createRequest(user: user.id, api: api, plan: planId, reason: reason, on: connection)
            return (AdminStore.Change<AccessRequest, AccessRequest>(before: nil, after: request, entityId: request.id.uuidString), request)
        }
        guard entry.settings.autoApprove else { return created }
        return try await approve(created.id, note: "approved at once: the API approves requests automatically", by: actor)
    }

    public func requests(status: AccessRequestStatus?, user: UUID? = nil) async throws -> [AccessRequest] {
        try await store.read { try await store.catalog.requests(status: status, user: user, on: $0) }
    }

    public func get(_ id: UUID) async throws -> AccessRequest {
        try await store.read { try await store.catalog.requireRequest(id, on: $0) }
    }

    public func pendingCount() async throws -> Int {
        try await store.read { try await store.catalog.pendingCount(on: $0) }
    }

    /// Adds the consumer to their own group and grants it the API under the request's plan, in one transaction.
    public func approve(_ id: UUID, note: String? = nil, by actor: Actor) async throws -> AccessRequest {
        try await store.write("access-request.approve", entity: "access-request", by: actor) { connection in
            let request = try await pending(id, on: connection)
            let group = AccessRequest.consumerGroup(of: request.userId)
            let groupId = try await store.groups.ensure(named: [group], on: connection)[0]
            _ = try await store.groups.addMember(request.userId, to: groupId, on: connection)
            let grant = try await grantAPI(request, group: group, groupId: groupId, on: connection)
            let decided = try await store.catalog.decide(id, status: .approved, reason: note, by: actor.label, grant: grant, on: connection)
            return (AdminStore.Change(before: request, after: decided, entityId: id.uuidString), decided)
        }
    }

    public func reject(_ id: UUID, reason: String, by actor: Actor) async throws -> AccessRequest {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw PorticoError.invalid(field: "reason", reason: "tell the consumer why") }
        return try await store.write("access-request.reject", entity: "access-request", by: actor) { connection in
            let request = try await pending(id, on: connection)
            let decided = try await store.catalog.decide(id, status: .rejected, reason: reason, by: actor.label, grant: nil, on: connection)
            return (AdminStore.Change(before: request, after: decided, entityId: id.uuidString), decided)
        }
    }

    private func pending(_ id: UUID, on connection: PostgresConnection) async throws -> AccessRequest {
        let request = try await store.catalog.requireRequest(id, forUpdate: true, on: connection)
        guard request.status == .pending else { throw PorticoError.conflict("the request was already \(request.status.rawValue)") }
        return request
    }

    /// The consumer's grant on the request's plan, extended by the API, or a new one named after the request.
    private func grantAPI(_ request: AccessRequest, group: String, groupId: UUID, on connection: PostgresConnection) async throws -> String {
        let held = try await store.accesses.list(on: connection).first { $0.groups == [group] && $0.plan == request.plan && !$0.allApis }
        var planId: UUID?
        if let plan = request.plan { planId = try await store.plans.id(named: plan, field: "plan", on: connection) }
        guard let held else {
            let created = try await store.accesses.create(
                AccessRecord(
                    name: "request:" + request.id.uuidString.lowercased(), groupIds: [groupId], apiIds: [request.apiId], rateLimit: nil,
                    planId: planId),
                on: connection)
            return created.name
        }
        let apiIds = try await store.apis.ids(named: held.apis ?? [], field: "apis", on: connection)
        _ = try await store.accesses.update(
            held.id,
            to: AccessRecord(
                name: held.name, groupIds: [groupId], apiIds: Array(Set(apiIds + [request.apiId])),
                rateLimit: held.rateLimit.flatMap {
                    RateLimit.stored($0.limit, $0.period)
                }, planId: planId, operationFilter: held.operationFilter), on: connection)
        return held.name
    }
}
