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
