import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct PolicyFeedTests {
    @Test func aWriteBumpsTheVersionAndTheFeedInstallsItFromNotify() async throws {
        try await withTestPortico { portico in
            let holder = PolicyHolder()
            let feed = PolicyFeed(database: portico.database, holder: holder, pollInterval: .seconds(60))
            try await withServices([feed]) {
                try await waitUntil { holder.isLoaded }
                let before = holder.snapshot.version
                _ = try await GroupService(store: portico.store).create(name: "live", by: portico.actor)
                try await waitUntil { holder.snapshot.version > before }
            }
        }
    }

    @Test func everyAdminWriteIsAudited() async throws {
        try await withTestPortico { portico in
            _ = try await GroupService(store: portico.store).create(name: "audited", by: portico.actor)
            let entries = try await portico.store.read { try await portico.store.audit.recent(limit: 10, offset: 0, on: $0) }
            let entry = try #require(entries.first)
            #expect(entry.action == "group.create")
            #expect(entry.actor == "admin@example.com")
            #expect(entry.after?.contains("audited") == true)
            #expect(entry.before == nil)
        }
    }
}

/// Polls `condition` until it holds (at most `timeout`); a test of eventual behaviour, not of speed.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
