import Foundation
import PorticoCore
import PorticoStore

/// A refusal as the dashboard and the admin API show it: with the user it was of, when that is a portal user.
public struct FoundRefusal: Codable, Sendable {
    public let refusal: Refusal
    public let userId: UUID?
    public let userEmail: String?
}

/// The recent refusals every gateway replica wrote (`RefusalRepository`): a user's newest, or one found by the
/// request id a consumer quotes.
public struct RefusalService: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    /// The user's newest refusals, from every replica, under each id their calls are counted under.
    public func recent(of userId: UUID) async throws -> [Refusal] {
        try await store.read { connection in
            let user = try await store.users.require(userId, on: connection)
            return try await RefusalRepository(logger: store.database.logger).recent(consumers: user.consumerIds, on: connection)
        }
    }

    public func find(requestId: String) async throws -> [FoundRefusal] {
        let trimmed = requestId.trimmingCharacters(in: .whitespaces)
        guard RequestID.isWellFormed(trimmed) else {
            throw PorticoError.invalid(field: "requestId", reason: "a request id is 1 to 200 visible characters, as X-Request-Id carries it")
        }
        return try await store.read { connection in
            var found: [FoundRefusal] = []
            for refusal in try await RefusalRepository(logger: store.database.logger).find(requestId: trimmed, on: connection) {
                let user = try await store.users.find(refusal.consumer, on: connection)
                found.append(FoundRefusal(refusal: refusal, userId: user?.id, userEmail: user?.email))
            }
            return found
        }
    }
}
