import Foundation
import PorticoCore
import PorticoStore

/// A quota as entered: a count and a period (`24h`, `30d` or `month`).
public struct QuotaInput: Sendable {
    public var limit: Int
    public var period: String

    public init(limit: Int, period: String) {
        self.limit = limit
        self.period = period
    }

    func validated() throws(PorticoError) -> Quota {
        try Quota(limit: limit, period: try QuotaPeriod.parse(period))
    }
}

/// A plan as entered; a patch leaves nil fields as they are (`.some(nil)` removes a rate limit or quota).
public struct PlanInput: Sendable {
    public var name: String?
    public var description: String?
    public var rateLimit: RateLimitInput??
    public var quota: QuotaInput??
    public var bucket: String?

    public init(
        name: String? = nil, description: String? = nil, rateLimit: RateLimitInput?? = nil, quota: QuotaInput?? = nil, bucket: String? = nil
    ) {
        self.name = name
        self.description = description
        self.rateLimit = rateLimit
        self.quota = quota
        self.bucket = bucket
    }
}

/// Plans: a rate limit, a quota and a bucket that access grants reference; every change audited, and announced to
/// the gateways by the change log.
public struct PlanService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func create(_ input: PlanInput, by actor: Actor) async throws -> Plan {
        guard let name = input.name else { throw PorticoError.invalid(field: "name", reason: "is required") }
        let record = try Self.record(
            PlanRecord(name: name, description: "", rateLimit: nil, quota: nil, bucket: .consumerAPI), applying: input)
        return try await store.write("plan.create", entity: "plan", by: actor) { connection in
            let created = try await store.plans.create(record, on: connection)
            return (AdminStore.Change<Plan, Plan>(before: nil, after: created, entityId: created.id.uuidString), created)
        }
    }

    public func list() async throws -> [Plan] {
        try await store.read { try await store.plans.list(on: $0) }
    }

    public func get(_ id: UUID) async throws -> Plan {
        try await store.read { try await store.plans.require(id, on: $0) }
    }

    public func update(_ id: UUID, _ patch: PlanInput, by actor: Actor) async throws -> Plan {
        try await store.write("plan.update", entity: "plan", by: actor) { connection in
            let before = try await store.plans.require(id, on: connection)
            let current = PlanRecord(
                name: before.name, description: before.description,
                rateLimit: before.rateLimit.flatMap { RateLimit.stored($0.limit, $0.period) }, quota: before.quota, bucket: before.bucket)
            let after = try await store.plans.update(id, to: try Self.record(current, applying: patch), on: connection)
            return (AdminStore.Change(before: before, after: after, entityId: id.uuidString), after)
        }
    }

    /// A plan that grants use cannot be deleted: they would lose their limits, or their consumers their access.
    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("plan.delete", entity: "plan", by: actor) { connection in
            let before = try await store.plans.require(id, on: connection)
            guard before.grants.isEmpty else {
                throw PorticoError.conflict(
                    "plan '\(before.name)' is used by the access grants \(before.grants.map { "'\($0)'" }.joined(separator: ", ")); "
                        + "give them another plan first")
            }
            try await store.plans.delete(id, on: connection)
            return (AdminStore.Change<Plan, Plan>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }

    /// `record` with the input's fields applied and checked.
    static func record(_ record: PlanRecord, applying input: PlanInput) throws(PorticoError) -> PlanRecord {
        var result = record
        if let name = input.name { result.name = try Validation.identifier(name) }
        if let description = input.description {
            let trimmed = description.trimmingCharacters(in: .whitespacesAndNewlines)
            result.description = trimmed.isEmpty ? "" : try Validation.name(trimmed, field: "description", maxLength: 500)
        }
        if let rateLimit = input.rateLimit { result.rateLimit = try rateLimit?.validated() }
        if let quota = input.quota { result.quota = try quota?.validated() }
        if let bucket = input.bucket { result.bucket = try PlanBucket.parse(bucket) }
        return result
    }
}
