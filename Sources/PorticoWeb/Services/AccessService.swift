import Foundation
import PorticoCatalog
import PorticoCore
import PorticoStore
import PostgresNIO

/// A rate limit as entered: a count and a period such as `1m` or `3600`.
public struct RateLimitInput: Sendable {
    public var limit: Int
    /// "1s", "1m", "1h", "24h" or a number of seconds.
    public var period: String

    public init(limit: Int, period: String) {
        self.limit = limit
        self.period = period
    }

    func validated() throws(PorticoError) -> RateLimit {
        try RateLimit(limit: limit, periodSeconds: try RateLimit.parsePeriod(period))
    }
}

/// A new access grant: its groups, and its APIs (a list, or all).
public struct AccessInput: Sendable {
    public var name: String
    public var groups: [String]
    public var apis: [String]?
    public var allApis: Bool?
    public var rateLimit: RateLimitInput?
    /// A plan's name: its quota and bucket apply, and its rate limit unless `rateLimit` is given too.
    public var plan: String?
    /// The operations it covers; nil covers every operation.
    public var operationFilter: OperationFilter?

    public init(
        name: String, groups: [String], apis: [String]? = nil, allApis: Bool? = nil, rateLimit: RateLimitInput? = nil, plan: String? = nil,
        operationFilter: OperationFilter? = nil
    ) {
        self.operationFilter = operationFilter
        self.name = name
        self.groups = groups
        self.apis = apis
        self.allApis = allApis
        self.rateLimit = rateLimit
        self.plan = plan
    }
}

/// Changes to an access grant; nil leaves a field as it is.
public struct AccessPatch: Sendable {
    public var name: String?
    public var groups: [String]?
    public var apis: [String]?
    public var allApis: Bool?
    /// `.some(nil)` removes the rate limit.
    public var rateLimit: RateLimitInput??
    /// `.some(nil)` removes the plan.
    public var plan: String??
    /// `.some(nil)` removes the filter: the grant covers every operation again.
    public var operationFilter: OperationFilter??

    public init(
        name: String? = nil, groups: [String]? = nil, apis: [String]? = nil, allApis: Bool? = nil, rateLimit: RateLimitInput?? = nil,
        plan: String?? = nil, operationFilter: OperationFilter?? = nil
    ) {
        self.operationFilter = operationFilter
        self.name = name
        self.groups = groups
        self.apis = apis
        self.allApis = allApis
        self.rateLimit = rateLimit
        self.plan = plan
    }
}

/// Access grants: which groups may call which APIs, under which plan or at what rate; every change audited and announced to the gateways.
public struct AccessService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func create(_ input: AccessInput, by actor: Actor) async throws -> APIAccess {
        let name = try Validation.identifier(input.name)
        let groups = try Self.groups(input.groups)
        let apis = try Self.apis(input.apis, allApis: input.allApis ?? false)
        let rateLimit = try input.rateLimit?.validated()
        let plan = try input.plan.map { try Validation.identifier($0, field: "plan") }
        let filter = try input.operationFilter?.validated()
        return try await store.write("access.create", entity: "access", by: actor) { connection in
            let ids = try await apiIds(apis, on: connection)
            try await checkDocumented(filter, apis: ids, on: connection)
            let record = AccessRecord(
                name: name, groupIds: try await store.groups.ids(named: groups, field: "groups", on: connection),
                apiIds: ids, rateLimit: rateLimit, planId: try await planId(plan, on: connection), operationFilter: filter)
            let created = try await store.accesses.create(record, on: connection)
            return (AdminStore.Change<APIAccess, APIAccess>(before: nil, after: created, entityId: created.id.uuidString), created)
        }
    }

    public func list() async throws -> [APIAccess] {
        try await store.read { try await store.accesses.list(on: $0) }
    }

    public func get(_ id: UUID) async throws -> APIAccess {
        try await store.read { try await store.accesses.require(id, on: $0) }
    }

    public func update(_ id: UUID, _ patch: AccessPatch, by actor: Actor) async throws -> APIAccess {
        let name = try patch.name.map { try Validation.identifier($0) }
        let groups = try patch.groups.map { try Self.groups($0) }
        let rateLimit: RateLimit?? = try patch.rateLimit.map { try $0?.validated() }
        let plan = try Self.plan(patch.plan)
        let filter: OperationFilter?? = try patch.operationFilter.map { try $0?.validated() }
        return try await store.write("access.update", entity: "access", by: actor) { connection in
            let before = try await store.accesses.require(id, on: connection)
            let allApis = patch.allApis ?? (patch.apis == nil ? before.allApis : false)
            let apis = try Self.apis(patch.apis ?? (allApis ? nil : before.apis), allApis: allApis)
            let ids = try await apiIds(apis, on: connection)
            let operationFilter = filter ?? before.operationFilter
            try await checkDocumented(operationFilter, apis: ids, on: connection)
            let record = AccessRecord(
                name: name ?? before.name,
                groupIds: try await store.groups.ids(named: groups ?? before.groups, field: "groups", on: connection),
                apiIds: ids,
                rateLimit: rateLimit ?? before.rateLimit.flatMap { RateLimit.stored($0.limit, $0.period) },
                planId: try await planId(plan ?? before.plan, on: connection), operationFilter: operationFilter)
            let after = try await store.accesses.update(id, to: record, on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), after)
        }
    }

    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("access.delete", entity: "access", by: actor) { connection in
            let before = try await store.accesses.require(id, on: connection)
            try await store.accesses.delete(id, on: connection)
            return (AdminStore.Change<APIAccess, APIAccess>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }

    /// Every tag and operation id a filter names is in the OpenAPI document of an API the grant covers; a document
    /// whose operations were never read out has them read out now.
    private func checkDocumented(_ filter: OperationFilter?, apis: [UUID]?, on connection: PostgresConnection) async throws {
        guard let filter, !filter.tags.isEmpty || !filter.operationIds.isEmpty else { return }
        let documents = store.documents
        var documented = try await documents.operations(on: connection)
        var covered = apis ?? []
        if apis == nil { covered = try await store.apis.list(on: connection).map(\.id) }
        for api in covered where documented[api] == nil {
            guard let stored = try await documents.find(api: api, on: connection) else { continue }
            let operations = try APIDocument(parsing: stored.source, validating: false).operations
            try await documents.setOperations(operations, api: api, on: connection)
            documented[api] = operations
        }
        let operations = covered.flatMap { documented[$0] ?? [] }
        guard !operations.isEmpty else {
            throw PorticoError.invalid(
                field: "operationFilter",
                reason: "tags and operation ids need an OpenAPI document on the grant's APIs; filter by method and path instead")
        }
        if let tag = filter.tags.first(where: { tag in !operations.contains { $0.tags.contains(tag) } }) {
            throw PorticoError.invalid(field: "operationFilter.tags", reason: "no operation of the grant's APIs has the tag '\(tag)'")
        }
        if let id = filter.operationIds.first(where: { id in !operations.contains { $0.operationId == id } }) {
            throw PorticoError.invalid(field: "operationFilter.operationIds", reason: "no operation of the grant's APIs has the id '\(id)'")
        }
    }

    private func apiIds(_ names: [String]?, on connection: PostgresConnection) async throws -> [UUID]? {
        guard let names else { return nil }
        return try await store.apis.ids(named: names, field: "apis", on: connection)
    }

    /// A patch's plan, checked: `.some(nil)` removes it.
    static func plan(_ requested: String??) throws(PorticoError) -> String?? {
        guard let requested else { return .none }
        guard let name = requested else { return .some(nil) }
        return .some(try Validation.identifier(name, field: "plan"))
    }

    private func planId(_ name: String?, on connection: PostgresConnection) async throws -> UUID? {
        guard let name else { return nil }
        return try await store.plans.id(named: name, field: "plan", on: connection)
    }

    static func groups(_ names: [String]) throws(PorticoError) -> [String] {
        guard !names.isEmpty else { throw .invalid(field: "groups", reason: "name at least one group") }
        var seen = Set<String>()
        return try names.map { name throws(PorticoError) in try Validation.identifier(name, field: "groups") }.filter { seen.insert($0).inserted }
    }

    /// Exactly one of an API list or `allApis: true`.
    static func apis(_ names: [String]?, allApis: Bool) throws(PorticoError) -> [String]? {
        switch (names, allApis) {
        case (nil, true): return nil
        case (.some, true): throw .invalid(field: "apis", reason: "give either apis or allApis: true, not both")
        case (nil, false), (.some([]), false): throw .invalid(field: "apis", reason: "name at least one API, or set allApis: true")
        case (.some(let names), false):
            var seen = Set<String>()
            return try names.map { name throws(PorticoError) in try Validation.identifier(name, field: "apis") }.filter { seen.insert($0).inserted }
        }
    }
}
