import Foundation

/// A call the gateway refused (401, 403, 404 or 429) whose consumer it knew, for the dashboard's recent refusals:
/// its request id finds it again, and its step and message say why.
public struct Refusal: Sendable, Codable, Equatable {
    public let consumer: UUID
    public let at: Date
    public let requestId: String
    public let method: String
    /// Without the query, where a token may travel.
    public let path: String
    public let api: String?
    public let status: Int
    public let error: String
    /// The step of the decision that refused it (`DecisionStep`).
    public let step: String
    public let message: String

    public init(
        consumer: UUID, at: Date, requestId: String, method: String, path: String, api: String?, status: Int, error: String, step: String,
        message: String
    ) {
        self.consumer = consumer
        self.at = at
        self.requestId = requestId
        self.method = method
        self.path = path
        self.api = api
        self.status = status
        self.error = error
        self.step = step
        self.message = message
    }

    /// The statuses a refusal is kept for: the caller's own doing, which they (or an admin) can fix.
    public static func isKept(status: Int) -> Bool { status == 401 || status == 403 || status == 404 || status == 429 }

    /// How many refusals of one consumer are kept, in each gateway's memory and in the database.
    public static let keptPerConsumer = 50
}

/// Each consumer's latest refusals, at most `Refusal.keptPerConsumer` each and `maxConsumers` consumers in all,
/// with those not yet written marked so that a writer takes each once. Under a flood the oldest go first; a
/// consumer beyond the bound evicts one whose refusals are all written, or, if there is none, is not kept.
public struct RefusalRing: Sendable {
    private struct Kept {
        var refusals: [Refusal] = []
        var unwritten = 0
    }

    public let maxConsumers: Int
    private var byConsumer: [UUID: Kept] = [:]
    /// Refusals not kept because every kept consumer still had some to write.
    public private(set) var dropped = 0

    public init(maxConsumers: Int) { self.maxConsumers = maxConsumers }

    public mutating func add(_ refusal: Refusal) {
        if byConsumer[refusal.consumer] == nil, byConsumer.count >= maxConsumers {
            guard let written = byConsumer.first(where: { $0.value.unwritten == 0 })?.key else {
                dropped += 1
                return
            }
            byConsumer[written] = nil
        }
        var kept = byConsumer[refusal.consumer] ?? Kept()
        kept.refusals.append(refusal)
        kept.unwritten += 1
        if kept.refusals.count > Refusal.keptPerConsumer {
            kept.refusals.removeFirst(kept.refusals.count - Refusal.keptPerConsumer)
            kept.unwritten = min(kept.unwritten, Refusal.keptPerConsumer)
        }
        byConsumer[refusal.consumer] = kept
    }

    /// The refusals not taken before, oldest first per consumer, now marked written.
    public mutating func takeUnwritten() -> [Refusal] {
        var taken: [Refusal] = []
        for (consumer, kept) in byConsumer where kept.unwritten > 0 {
            taken.append(contentsOf: kept.refusals.suffix(kept.unwritten))
            byConsumer[consumer]?.unwritten = 0
        }
        return taken
    }

    /// Marks taken refusals unwritten again after a failed write, those still kept.
    public mutating func restore(_ refusals: [Refusal]) {
        for (consumer, count) in Dictionary(refusals.map { ($0.consumer, 1) }, uniquingKeysWith: +) {
            guard var kept = byConsumer[consumer] else { continue }
            kept.unwritten = min(kept.refusals.count, kept.unwritten + count)
            byConsumer[consumer] = kept
        }
    }

    /// A consumer's kept refusals, newest first.
    public func recent(of consumer: UUID) -> [Refusal] { (byConsumer[consumer]?.refusals ?? []).reversed() }

    public var consumerCount: Int { byConsumer.count }
}
