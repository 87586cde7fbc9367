import Synchronization

/// The last few values made by key, the least recently used dropped first past `capacity`: a parsed OpenAPI
/// document by its SHA-256, the rendered part of a page by everything it depends on.
public final class RecentValues<Value: Sendable>: Sendable {
    private let entries = Mutex<[(key: String, value: Value)]>([])
    let capacity: Int

    public init(capacity: Int = 16) { self.capacity = capacity }

    /// The value kept for `key` (now the most recently used), or nil.
    func value(for key: String) -> Value? {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.insert(entry, at: 0)
            return entry.value
        }
    }

    func remember(_ value: Value, for key: String) {
        entries.withLock { entries in
            entries.removeAll { $0.key == key }
            entries.insert((key, value), at: 0)
            if entries.count > capacity { entries.removeLast(entries.count - capacity) }
        }
    }

    /// The value kept for `key`, or `make`'s, kept from now on.
    func value(for key: String, orMake make: () async throws -> Value) async throws -> Value {
        if let kept = value(for: key) { return kept }
        let made = try await make()
        remember(made, for: key)
        return made
    }
}
