import Foundation
import Logging
import PorticoCore
import PorticoStore
import PostgresNIO

/// The repositories and the one way of writing through them: a transaction that also records the audit
/// entry, so every admin change is audited. What it changes in the policy reaches the gateways through the
/// change log the database's triggers write in the same transaction.
public struct AdminStore: Sendable {
    public let database: Database
    public let users: UserRepository
    public let groups: GroupRepository
    public let apis: APIRepository
    public let documents: APIDocumentRepository
    public let accesses: AccessRepository
    public let plans: PlanRepository
    public let keys: KeyRepository
    public let adminTokens: KeyRepository
    public let policy: PolicyRepository
    public let audit: AuditTrail
    public let overview: OverviewRepository
    public let identityProviders: IdentityProviderRepository
    public let catalog: CatalogRepository
    public let applications: ApplicationRepository
    public let keyPolicy: KeyPolicyRepository

    public init(database: Database) {
        let logger = database.logger
        self.database = database
        self.users = UserRepository(logger: logger)
        self.groups = GroupRepository(logger: logger)
        self.apis = APIRepository(logger: logger)
        self.documents = APIDocumentRepository(logger: logger)
        self.accesses = AccessRepository(logger: logger)
        self.plans = PlanRepository(logger: logger)
        self.keys = KeyRepository(table: .apiKeys, logger: logger)
        self.adminTokens = KeyRepository(table: .adminTokens, logger: logger)
        self.policy = PolicyRepository(logger: logger)
        self.audit = AuditTrail(logger: logger)
        self.overview = OverviewRepository(logger: logger)
        self.identityProviders = IdentityProviderRepository(logger: logger)
        self.catalog = CatalogRepository(logger: logger)
        self.applications = ApplicationRepository(logger: logger)
        self.keyPolicy = KeyPolicyRepository(logger: logger)
    }

    /// What a write changed, for the audit log.
    public struct Change<Before: Encodable & Sendable, After: Encodable & Sendable>: Sendable {
        let before: Before?
        let after: After?
        let entityId: String?

        public init(before: Before?, after: After?, entityId: String?) {
            self.before = before
            self.after = after
            self.entityId = entityId
        }
    }

    /// Runs `body` in one transaction with its audit row.
    public func write<Before, After, Result: Sendable>(
        _ action: String, entity: String, by actor: Actor,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> (Change<Before, After>, Result)
    ) async throws -> Result {
        let logger = database.logger
        return try await database.transaction { connection in
            try await RowVersion.check(on: connection, logger: logger)
            let (change, result) = try await body(connection)
            try await audit.record(
                action, entity: entity, id: change.entityId, before: change.before, after: change.after, by: actor, on: connection)
            return result
        }
    }

    /// Runs `body` on a pooled connection, without a transaction, failing as unavailable past the database's deadline.
    public func read<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await database.read(body)
    }
}
