import Synchronization

/// Parts of pages kept once rendered (an API's whole OpenAPI document), by a key naming everything they depend on;
/// the least recently used goes first when more than `capacity` are kept.
final class RenderedFragments: Sendable {
    private let entries = Mutex<[(key: String, html: String)]>([])
    let capacity: Int

    init(capacity: Int = 16) { self.capacity = capacity }

    func fragment(for key: String, render: () async throws -> String) async throws -> String {
        let hit = entries.withLock { entries -> String? in
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
            let entry = entries.remove(at: index)
            entries.insert(entry, at: 0)
            return entry.html
        }
        if let hit { return hit }
        let html = try await render()
        entries.withLock { entries in
            entries.removeAll { $0.key == key }
            entries.insert((key, html), at: 0)
            if entries.count > capacity { entries.removeLast(entries.count - capacity) }
        }
        return html
    }
}
