import Foundation
import PorticoCore
import Synchronization

/// Collects the token users seen since the last write, so a request never waits on the database. A user id
/// not written yet signals the writer at once, so first-time users appear in the portal within moments.
public final class SightingRecorder: Sendable {
    private struct State {
        var pending: [String: UserSighting] = [:]
        var written: Set<String> = []
    }

    private let state = Mutex(State())
    private let signal: AsyncStream<Void>.Continuation
    /// Yields when a user id that has not been written yet is seen.
    public let newUsers: AsyncStream<Void>

    public init() {
        (newUsers, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func record(_ principal: JWTPrincipal, at date: Date) {
        let isNew = state.withLock { state in
            let sighting = UserSighting(externalId: principal.userId, email: principal.email, tokenName: principal.tokenName, seenAt: date)
            let firstInBatch = state.pending.updateValue(sighting, forKey: principal.userId) == nil
            return firstInBatch && !state.written.contains(principal.userId)
        }
        if isNew { signal.yield() }
    }

    public func drain() -> [UserSighting] {
        state.withLock { state in
            defer { state.pending.removeAll(keepingCapacity: true) }
            return Array(state.pending.values)
        }
    }

    public func markWritten(_ sightings: [UserSighting]) {
        state.withLock { state in
            for sighting in sightings { state.written.insert(sighting.externalId) }
        }
    }

    /// Puts back sightings a failed write could not store; newer sightings of the same user win.
    public func restore(_ sightings: [UserSighting]) {
        state.withLock { state in
            for sighting in sightings where state.pending[sighting.externalId] == nil {
                state.pending[sighting.externalId] = sighting
            }
        }
    }

    public func finish() { signal.finish() }
}
