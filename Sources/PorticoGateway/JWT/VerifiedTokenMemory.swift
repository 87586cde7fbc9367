import PorticoCore
import Synchronization

/// Tokens whose signature was verified lately, with their claims, so a client sending the same token again is
/// not verified (an RSA or ECDSA operation, a JSON parse) on every request. Kept per verifier, so new settings
/// start empty. An entry is kept at most `lifetime` seconds and never past the token's `exp`; an entry made
/// under another key set (a JWK set fetched or re-read since) is not used, so a key dropped from the set is not
/// trusted a moment longer through this memory. The registered claims are checked again on every use. Only the
/// token's exact text finds an entry.
///
/// Bounded by entries and by bytes (the tokens' text and their claims, estimated): when either bound would be
/// passed, entries are evicted by CLOCK, the second-chance approximation of least-recently-used. A token in use
/// keeps its place, so a flood of new tokens never empties the memory of the ones that keep coming back.
final class VerifiedTokenMemory: Sendable {
    private struct Entry {
        let token: String
        let claims: [String: JSONValue]
        let until: Double
        let keyGeneration: Int
        let bytes: Int
        /// Set on every use; the clock hand clears it once before evicting the entry.
        var referenced = false
    }

    private struct State {
        var slots: [Entry?] = []
        var index: [String: Int] = [:]
        var free: [Int] = []
        var hand = 0
        var bytes = 0

        mutating func remove(at slot: Int) {
            guard let entry = slots[slot] else { return }
            index[entry.token] = nil
            bytes -= entry.bytes
            slots[slot] = nil
            free.append(slot)
        }

        /// Evicts one entry: the first under the hand that was not used since the hand last passed, or one that
        /// has ended by `now` on the way.
        mutating func evictOne(now: Double) {
            guard index.count > 0 else { return }
            while true {
                hand = hand < slots.count - 1 ? hand + 1 : 0
                guard let entry = slots[hand] else { continue }
                if entry.referenced, entry.until > now {
                    slots[hand]?.referenced = false
                    continue
                }
                remove(at: hand)
                return
            }
        }
    }

    private let state = Mutex(State())
    let capacity: Int
    let byteLimit: Int
    let lifetime: Double

    /// 10 000 entries and 16 MiB by default: a token and its usual claims take about 1 KiB.
    init(capacity: Int = 10_000, byteLimit: Int = 16 << 20, lifetimeSeconds: Double = 300) {
        self.capacity = max(capacity, 1)
        self.byteLimit = byteLimit
        self.lifetime = lifetimeSeconds
    }

    func claims(of token: String, now: Double, keyGeneration: Int) -> [String: JSONValue]? {
        state.withLock { state in
            guard let slot = state.index[token], let entry = state.slots[slot] else { return nil }
            guard now < entry.until, entry.keyGeneration == keyGeneration else {
                state.remove(at: slot)
                return nil
            }
            if !entry.referenced { state.slots[slot]?.referenced = true }
            return entry.claims
        }
    }

    func remember(_ token: String, claims: [String: JSONValue], now: Double, keyGeneration: Int) {
        var until = now + lifetime
        if case .number(let exp)? = claims["exp"] { until = min(until, exp) }
        guard until > now else { return }
        let bytes = Self.estimatedBytes(token: token, claims: claims)
        guard bytes <= byteLimit else { return }
        state.withLock { state in
            if let slot = state.index[token] { state.remove(at: slot) }
            while state.index.count >= capacity || state.bytes + bytes > byteLimit { state.evictOne(now: now) }
            let entry = Entry(token: token, claims: claims, until: until, keyGeneration: keyGeneration, bytes: bytes)
            let slot: Int
            if let reused = state.free.popLast() {
                slot = reused
                state.slots[slot] = entry
            } else {
                slot = state.slots.count
                state.slots.append(entry)
            }
            state.index[token] = slot
            state.bytes += bytes
        }
    }

    var count: Int { state.withLock { $0.index.count } }

    /// What the memory holds, by the estimate its byte bound counts.
    var bytes: Int { state.withLock { $0.bytes } }

    /// The token's text twice (the entry and the index), its claims, and a fixed cost per entry and per value for
    /// the dictionaries' storage and the values' boxes.
    static func estimatedBytes(token: String, claims: [String: JSONValue]) -> Int {
        2 * token.utf8.count + 128 + claims.reduce(0) { $0 + $1.key.utf8.count + estimatedBytes($1.value) }
    }

    private static func estimatedBytes(_ value: JSONValue) -> Int {
        switch value {
        case .string(let text): 32 + text.utf8.count
        case .array(let items): 32 + items.reduce(0) { $0 + estimatedBytes($1) }
        case .object(let members): 48 + members.reduce(0) { $0 + $1.key.utf8.count + estimatedBytes($1.value) }
        default: 32
        }
    }
}
