import Foundation

/// The admins' rules for new API keys (`GET|PUT /api/v1/key-policy`): a longest lifetime, and whether a key
/// without an expiry is refused. Keys made before a rule changed keep their expiry.
public struct KeyPolicy: Sendable, Codable, Equatable {
    public var maxKeyLifetimeDays: Int?
    public var requireExpiry: Bool

    public init(maxKeyLifetimeDays: Int? = nil, requireExpiry: Bool = false) {
        self.maxKeyLifetimeDays = maxKeyLifetimeDays
        self.requireExpiry = requireExpiry
    }

    /// The longest lifetime an admin may set: ten years.
    public static let longestLifetimeDays = 3_650

    public func validated() throws(PorticoError) -> KeyPolicy {
        if let days = maxKeyLifetimeDays, !(1...Self.longestLifetimeDays).contains(days) {
            throw .invalid(field: "maxKeyLifetimeDays", reason: "must be from 1 to \(Self.longestLifetimeDays) days, or null for no limit")
        }
        return self
    }

    /// Checks a new key's expiry against the rules at `now`.
    public func check(expiresAt: Date?, now: Date) throws(PorticoError) {
        if let expiresAt, expiresAt <= now { throw .invalid(field: "expiresAt", reason: "must be in the future") }
        guard let expiresAt else {
            if requireExpiry || maxKeyLifetimeDays != nil {
                let limit = maxKeyLifetimeDays.map { " within \($0) days" } ?? ""
                throw .invalid(field: "expiresAt", reason: "keys must expire: give an expiry\(limit)")
            }
            return
        }
        if let days = maxKeyLifetimeDays, expiresAt > now.addingTimeInterval(TimeInterval(days) * 86_400) {
            throw .invalid(
                field: "expiresAt",
                reason: "keys may live at most \(days) days: give an expiry before \(Self.day(now.addingTimeInterval(TimeInterval(days) * 86_400)))")
        }
    }

    private static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }
}

/// Rotating a key: a new key now, and the old one expiring after an overlap in which both work.
public enum KeyRotation {
    /// Seven days, as long as clients commonly need to pick up a new secret.
    public static let defaultOverlapSeconds = 7 * 86_400
    /// At most 90 days: a rotation that leaves the old key for longer is not one.
    public static let longestOverlapSeconds = 90 * 86_400

    public static func checkedOverlap(_ seconds: Int?) throws(PorticoError) -> Int {
        let overlap = seconds ?? defaultOverlapSeconds
        guard (0...longestOverlapSeconds).contains(overlap) else {
            throw .invalid(field: "overlapSeconds", reason: "must be from 0 to \(longestOverlapSeconds) (90 days)")
        }
        return overlap
    }

    /// When the old key stops working: after the overlap, or at its own expiry if that comes first.
    public static func oldKeyExpiry(current: Date?, now: Date, overlapSeconds: Int) -> Date {
        let end = now.addingTimeInterval(TimeInterval(overlapSeconds))
        return current.map { min($0, end) } ?? end
    }

    /// The new key lives as long as the old one was meant to (from now), within the key policy.
    public static func newKeyExpiry(oldCreated: Date, oldExpires: Date?, now: Date, policy: KeyPolicy) -> Date? {
        let lifetime = oldExpires.map { $0.timeIntervalSince(oldCreated) }
        var expiry = lifetime.map { now.addingTimeInterval($0) }
        if let days = policy.maxKeyLifetimeDays {
            let cap = now.addingTimeInterval(TimeInterval(days) * 86_400)
            expiry = expiry.map { min($0, cap) } ?? cap
        }
        return expiry
    }
}

/// How a key's expiry reads to its owner: the portal warns two weeks ahead.
public enum KeyExpiry {
    public static let warningDays = 14

    /// Whole days left (rounded up) when the key expires within the warning window, else nil.
    public static func daysLeftToWarn(expiresAt: Date?, now: Date) -> Int? {
        guard let expiresAt, expiresAt > now else { return nil }
        let left = expiresAt.timeIntervalSince(now)
        guard left <= TimeInterval(warningDays) * 86_400 else { return nil }
        return Int((left / 86_400).rounded(.up))
    }
}

/// A consumer's named group of credentials: every API key belongs to one, and usage can be read per application.
public struct ConsumerApplication: Sendable, Codable, Equatable {
    public let id: UUID
    public let userId: UUID
    public var name: String
    public var description: String
    public let createdAt: Date

    public init(id: UUID, userId: UUID, name: String, description: String, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.name = name
        self.description = description
        self.createdAt = createdAt
    }
}
