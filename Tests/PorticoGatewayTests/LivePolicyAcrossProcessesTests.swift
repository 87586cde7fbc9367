import Foundation
import PorticoTestSupport
import Testing

/// Two `portico serve` processes on one database: a change made through one is enforced by the other with no
/// restart. The poll interval is set to a minute and the bound is far below it, so only LISTEN/NOTIFY can do it.
/// How fast it is (tens of milliseconds on an idle machine, seconds when the whole suite starts at once) is
/// measured by `make bench-scale`, not here.
@Suite struct LivePolicyAcrossProcessesTests {
    static let bound = Duration.seconds(15)

    @Test func aChangeThroughOneProcessIsEnforcedByTheOtherLongBeforeItPolls() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                let first = try await PorticoProcess(database: portico.testDatabase, extraArguments: ["--policy-poll-interval", "60"])
                let second = try await PorticoProcess(database: portico.testDatabase, extraArguments: ["--policy-poll-interval", "60"])
                defer {
                    first.stop()
                    second.stop()
                }
                let gateway = "http://127.0.0.1:\(second.gatewayPort)/orders"
                #expect(try await TestHTTP.send(.GET, gateway, bearer: key).status == 403)

                let grant = try await TestHTTP.send(
                    .POST, "http://127.0.0.1:\(first.adminPort)/api/v1/accesses", bearer: portico.adminToken,
                    headers: [("Content-Type", "application/json")],
                    body: Data(#"{"name":"buyers-all","groups":["buyers"],"allApis":true,"rateLimit":{"limit":100,"period":"1m"}}"#.utf8))
                #expect(grant.status == 201)
                let granted = try await firstStatus(200, from: gateway, key: key)
                #expect(granted < Self.bound, "took \(granted)")

                let keyId = try await keyId(of: key, in: portico)
                let revoke = try await TestHTTP.send(.DELETE, "http://127.0.0.1:\(first.adminPort)/api/v1/keys/\(keyId)", bearer: portico.adminToken)
                #expect(revoke.status == 200)
                let revoked = try await firstStatus(401, from: gateway, key: key)
                #expect(revoked < Self.bound, "took \(revoked)")
            }
        }
    }

    /// How long until `url` answers `status` (gives up at the bound, which fails the caller's check).
    func firstStatus(_ status: Int, from url: String, key: String) async throws -> Duration {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < Self.bound {
            if try await TestHTTP.send(.GET, url, bearer: key).status == status { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ContinuousClock.now - started
    }
}
