import Foundation
import PorticoCore
import PorticoDemo
import PorticoTestSupport
import Testing

/// `X-Request-Id` at the real gateway: on every answer, the upstream's request carrying the same, a client's own
/// kept when well formed and replaced when not.
@Suite struct RequestIdTests {
    @Test func everyAnswerCarriesAnIdTheUpstreamSawTooAndAClientsWellFormedIdIsKept() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let first = try await gateway.get("/orders/1", key: key)
                    let second = try await gateway.get("/orders/2", key: key)
                    let id = try #require(first.header("X-Request-Id"))
                    #expect(try JSONDecoder().decode(EchoDescription.self, from: first.body).headers["x-request-id"] == id, "the upstream got it")
                    #expect(second.header("X-Request-Id") != id, "each request its own")

                    let kept = try await gateway.get("/orders/3", key: key, headers: [("X-Request-Id", "trace-abc.123:7")])
                    #expect(kept.header("X-Request-Id") == "trace-abc.123:7")
                    #expect(try JSONDecoder().decode(EchoDescription.self, from: kept.body).headers["x-request-id"] == "trace-abc.123:7")

                    for malformed in ["has space", String(repeating: "x", count: 201), "a,b"] {
                        let replaced = try await gateway.get("/orders/4", key: key, headers: [("X-Request-Id", malformed)])
                        let own = try #require(replaced.header("X-Request-Id"))
                        #expect(own != malformed && RequestID.isWellFormed(own))
                        #expect(
                            try JSONDecoder().decode(EchoDescription.self, from: replaced.body).headers["x-request-id"] == own,
                            "the client's malformed id goes no further")
                    }

                    // The gateway's own answers carry one too.
                    #expect(try await gateway.get("/nowhere", key: key).header("X-Request-Id") != nil)
                    #expect(try await gateway.get("/orders/1", key: nil).header("X-Request-Id") != nil)
                    let refused = try await gateway.get("/orders/1", key: nil, headers: [("X-Request-Id", "client-401")])
                    #expect(refused.status == 401)
                    #expect(refused.header("X-Request-Id") == "client-401")
                }
            }
        }
    }
}

/// The access log: one line per request at the real gateway, carrying the id the answer carries, and never the
/// query, where a token may travel.
@Suite struct AccessLogTests {
    @Test func eachRequestIsOneLineWithItsIdConsumerStatusDurationsAndDecidingStep() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("closed", prefix: "/closed", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"], limit: 1)
                let (buyer, key) = try await portico.seedConsumer(groups: ["buyers"])
                let log = LogRecorder()
                try await portico.withGateway(accessLog: log.logger()) { gateway in
                    let forwarded = try await gateway.get("/orders/1?access_token=secret-in-query", key: key, headers: [("X-Request-Id", "trace-1")])
                    #expect(forwarded.status == 200)
                    let limited = try await gateway.get("/orders/2", key: key)
                    #expect(limited.status == 429)
                    #expect(try await gateway.get("/closed/1", key: key).status == 403)
                    #expect(try await gateway.get("/orders/1", key: nil).status == 401)
                    #expect(try await gateway.get("/nowhere", key: key).status == 404)

                    let ids = log.metadata("requestId", of: "access")
                    #expect(ids.count == 5)
                    #expect(ids.first == "trace-1")
                    #expect(ids[1] == limited.header("X-Request-Id"))
                    #expect(log.metadata("status", of: "access") == ["200", "429", "403", "401", "404"])
                    #expect(log.metadata("step", of: "access") == ["upstream", "limits", "access", "credential", "route"])
                    #expect(log.metadata("error", of: "access") == [nil, "rate_limited", "no_access", "missing_credential", "no_route"])
                    #expect(log.metadata("api", of: "access") == ["orders", "orders", "closed", "orders", nil])
                    #expect(log.metadata("consumer", of: "access") == [buyer.id.headerText, buyer.id.headerText, buyer.id.headerText, nil, nil])
                    #expect(log.metadata("path", of: "access").first == "/orders/1", "the query stays out of the log")
                    #expect(log.metadata("method", of: "access").allSatisfy { $0 == "GET" })
                    let upstreamTimes = log.metadata("upstreamMs", of: "access")
                    #expect(upstreamTimes.first.flatMap { $0.flatMap(Double.init) }.map { $0 > 0 } == true)
                    #expect(upstreamTimes.dropFirst().allSatisfy { $0 == nil }, "only the forwarded call went upstream")
                    let durations = log.metadata("durationMs", of: "access").compactMap { $0.flatMap(Double.init) }
                    #expect(durations.count == 5 && durations.allSatisfy { $0 >= 0 })
                }
            }
        }
    }
}
