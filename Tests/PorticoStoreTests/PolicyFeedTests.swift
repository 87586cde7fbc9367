import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import PostgresNIO
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

    @Test func theLoadHasADeadlineOfItsOwnBeyondTheAdminAPIs() async throws {
        try await withTestPortico { portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 1)
            // Every admin operation on this database fails at once; the policy load has its own deadline.
            let hurried = Database(client: portico.database.client, logger: TestDatabase.logger, operationTimeout: .nanoseconds(1))
            await #expect(throws: PorticoError.self) {
                try await hurried.read { try await PolicyRepository(logger: hurried.logger).currentVersion(on: $0) }
            }
            let holder = PolicyHolder()
            #expect(await PolicyFeed(database: hurried, holder: holder, loadTimeout: .seconds(30)).reload())
            #expect(holder.isLoaded && holder.snapshot.apiCount == 1)
        }
    }

    @Test func aFailedFirstLoadIsTriedAgainWithAGrowingDelay() async throws {
        let url = try DatabaseURL("postgres://postgres@127.0.0.1:\(try freeLoopbackPort())/portico?sslmode=disable")
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: TestDatabase.logger)
        let recorder = LogRecorder()
        let down = Database(client: client, logger: recorder.logger(), operationTimeout: .milliseconds(200))
        let holder = PolicyHolder()
        let feed = PolicyFeed(database: down, holder: holder, pollInterval: .seconds(60), loadTimeout: .milliseconds(200))
        try await withServices([client]) {
            let loading = Task { await feed.loadUntilReady() }
            // Until three retries were announced (seconds on a quiet machine, longer on a loaded one).
            let deadline = ContinuousClock.now + .seconds(60)
            while recorder.metadata("in", of: "policy not loaded yet; trying again").count < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            loading.cancel()
            _ = await loading.value
        }
        // The delay before each retry doubles: 1 s, 2 s, 4 s. Read from what the feed says, not from a clock, so a
        // loaded machine cannot make the test fail.
        let delays = recorder.metadata("in", of: "policy not loaded yet; trying again")
        #expect(Array(delays.prefix(3)) == ["1.0 seconds", "2.0 seconds", "4.0 seconds"], "\(delays)")
        let failures = recorder.recorded.filter { $0.hasPrefix("policy load failed") }.count
        #expect(failures >= 3 && failures <= delays.count + 1, "one failure before each retry")
        #expect(!holder.isLoaded)
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
func waitUntil(timeout: Duration = .seconds(15), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
