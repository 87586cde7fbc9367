import Foundation
import PorticoTestSupport
import Testing

@Suite struct GatewayRateLimitTests {
    @Test func headersCountDownAndTheLimitAnswers429WithRetryAfter() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("three", groups: ["buyers"], limit: 3, period: "1m")
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    var remaining: [String] = []
                    for _ in 0..<3 {
                        let response = try await gateway.get("/orders", key: key)
                        #expect(response.status == 200)
                        #expect(response.header("X-RateLimit-Limit") == "3")
                        #expect(response.header("X-RateLimit-Period") == "60")
                        #expect(Int(response.header("X-RateLimit-Reset") ?? "") ?? 0 > 0)
                        remaining.append(response.header("X-RateLimit-Remaining") ?? "?")
                    }
                    #expect(remaining == ["2", "1", "0"])
                    let over = try await gateway.get("/orders", key: key)
                    #expect(over.status == 429)
                    // One request per 20 s returns; less the time the four requests took (under a second, and a few on a
                    // machine busy with the rest of the suite).
                    let retryAfter = Int(over.header("Retry-After") ?? "") ?? 0
                    #expect((15...20).contains(retryAfter))
                    #expect(over.header("X-RateLimit-Remaining") == "0")
                    #expect(over.header("X-RateLimit-Limit") == "3")
                    #expect(over.header("X-RateLimit-Period") == "60")
                    #expect(try over.json()["error"] as? String == "rate_limited")
                }
            }
        }
    }

    @Test func eachConsumerAndEachAPIHasItsOwnBudget() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("billing", prefix: "/billing", upstreamPort: upstream)
                try await portico.grant("one", groups: ["buyers"], limit: 1, period: "1h")
                let (_, first) = try await portico.seedConsumer(groups: ["buyers"])
                let (_, second) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let statuses = [
                        try await gateway.get("/orders", key: first).status,
                        try await gateway.get("/orders", key: first).status,
                        try await gateway.get("/billing", key: first).status,
                        try await gateway.get("/orders", key: second).status,
                    ]
                    #expect(statuses == [200, 429, 200, 200])
                }
            }
        }
    }

    @Test func theMostGenerousGrantOfAUsersGroupsWins() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("bronze", groups: ["bronze"], limit: 2, period: "1m")
                try await portico.grant("gold", groups: ["gold"], apis: ["orders"], limit: 50, period: "1m")
                try await portico.grant("silver", groups: ["silver"], limit: 10, period: "1m")
                let (_, key) = try await portico.seedConsumer(groups: ["bronze", "gold", "silver"])
                let (_, unlimitedKey) = try await portico.seedConsumer(groups: ["bronze", "free"])
                try await portico.grant("free", groups: ["free"])
                try await portico.withGateway { gateway in
                    let response = try await gateway.get("/orders", key: key)
                    #expect(response.header("X-RateLimit-Limit") == "50")
                    let unlimited = try await gateway.get("/orders", key: unlimitedKey)
                    #expect(unlimited.status == 200)
                    #expect(unlimited.header("X-RateLimit-Limit") == nil)
                }
            }
        }
    }
}
