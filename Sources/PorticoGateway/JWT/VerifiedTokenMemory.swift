import PorticoCore
import Synchronization

/// Tokens whose signature was verified lately, with their claims, so a client sending the same token again is
/// not verified (an RSA or ECDSA operation, a JSON decode) on every request. Kept per verifier, so new settings
/// start empty. An entry is kept at most `lifetime` seconds and never past the token's `exp`; an entry made
/// under another key set (a JWK set fetched or re-read since) is not used, so a key dropped from the set is not
/// trusted a moment longer through this memory. The registered claims are checked again on every use. Only the token's exact text finds an entry; when full, the memory starts over.
final class VerifiedTokenMemory: Sendable {
    private struct Entry {
        let claims: [String: JSONValue]
        let until: Double
        let keyGeneration: Int
    }

    private let entries = Mutex<[String: Entry]>([:])
    let capacity: Int
    let lifetime: Double

    init(capacity: Int = 10_000, lifetimeSeconds: Double = 300) {
        self.capacity = capacity
        self.lifetime = lifetimeSeconds
    }

    func claims(of token: String, now: Double, keyGeneration: Int) -> [String: JSONValue]? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard now < entry.until, entry.keyGeneration == keyGeneration else {
                entries[token] = nil
                return nil
            }
            return entry.claims
        }
    }

    func remember(_ token: String, claims: [String: JSONValue], now: Double, keyGeneration: Int) {
        var until = now + lifetime
        if case .number(let exp)? = claims["exp"] { until = min(until, exp) }
        guard until > now else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = Entry(claims: claims, until: until, keyGeneration: keyGeneration)
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
