import Foundation
import PorticoCore

/// Where the data plane reports what it saw: which API keys were used and which token users called. The
/// gateway calls it on the request path, on its event loops, so an implementation must neither block nor wait
/// on I/O; it collects and writes later (`PorticoRuntime` batches both into PostgreSQL).
public protocol UsageSink: Sendable {
    /// An admitted request presented the API key `keyId`.
    func keyUsed(_ keyId: UUID)
    /// An admitted request carried a token of this user.
    func tokenUserSeen(_ sighting: UserSighting)
    /// A known consumer's call on an API was answered (by the upstream or by the gateway itself).
    func callAnswered(_ call: AnsweredCall)
    /// The gateway refused a known consumer's call (`Refusal.isKept`).
    func refused(_ refusal: Refusal)
}

/// One answered call of a known consumer, for the usage records.
public struct AnsweredCall: Sendable {
    public let consumer: UUID
    public let api: UUID
    public let status: Int
    /// Refused by the gateway's rate limit or quota.
    public let rateLimited: Bool
    public let bytesIn: Int
    public let bytesOut: Int
    public let latencyNanos: Int64
    /// The application of the key the call came with; nil for tokens and the portal's try-it calls.
    public let application: UUID?

    public init(
        consumer: UUID, api: UUID, status: Int, rateLimited: Bool, bytesIn: Int, bytesOut: Int, latencyNanos: Int64, application: UUID? = nil
    ) {
        self.application = application
        self.consumer = consumer
        self.api = api
        self.status = status
        self.rateLimited = rateLimited
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.latencyNanos = latencyNanos
    }
}
