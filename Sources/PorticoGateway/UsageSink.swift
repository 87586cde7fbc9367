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
}
