import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PorticoDemo
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

@Suite struct GatewayProxyTests {
    @Test func methodPathQueryHeadersAndForwardedHeadersPassThrough() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream, stripPrefix: true)
                try await portico.createAPI("kept", prefix: "/kept", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let response = try await gateway.get(
                        "/orders/42/items?sort=desc&q=a%20b", key: key,
                        headers: [("X-Custom", "yes"), ("Connection", "X-Secret"), ("X-Secret", "hop"), ("X-Forwarded-For", "10.0.0.1")])
                    #expect(response.status == 200)
                    let echo = try JSONDecoder().decode(EchoDescription.self, from: response.body)
                    #expect(echo.method == "GET")
                    #expect(echo.path == "/42/items")
                    #expect(echo.query == "sort=desc&q=a%20b")
                    #expect(echo.headers["x-custom"] == "yes")
                    #expect(echo.headers["x-secret"] == nil)
                    #expect(echo.headers["connection"] == nil || echo.headers["connection"] == "keep-alive")
                    #expect(echo.headers["x-forwarded-for"] == "10.0.0.1, 127.0.0.1")
                    #expect(echo.headers["x-forwarded-proto"] == "http")
                    #expect(echo.headers["x-forwarded-host"] == "127.0.0.1:\(gateway.port)")

                    let kept = try await gateway.get("/kept/a", key: key)
                    #expect(try JSONDecoder().decode(EchoDescription.self, from: kept.body).path == "/kept/a")

                    let deleted = try await TestHTTP.send(.DELETE, gateway.baseURL + "/orders/7", bearer: key)
                    #expect(deleted.header("X-Upstream-Method") == "DELETE")
                }
            }
        }
    }

    @Test func aLargeBodyStreamsBothWaysUnchanged() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("upload", prefix: "/upload", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                // 24 MiB: a random 64 KiB block repeated, each copy stamped with its index so reordering shows.
                var generator = SystemRandomNumberGenerator()
                let block = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var payload = Data(capacity: 24 << 20)
                for index in 0..<384 {
                    var stamped = block
                    withUnsafeBytes(of: UInt32(index).bigEndian) { stamped.replaceSubrange(0..<4, with: $0) }
                    payload.append(contentsOf: stamped)
                }
                try await portico.withGateway { gateway in
                    let response = try await TestHTTP.send(
                        .POST, gateway.baseURL + "/upload", bearer: key, headers: [("Content-Type", "application/octet-stream")], body: payload)
                    #expect(response.status == 200)
                    #expect(response.header("X-Upstream-Method") == "POST")
                    #expect(response.body.count == payload.count)
                    #expect(response.body == payload)
                }
            }
        }
    }

    @Test func aRefusedUpstreamIs502JSON() async throws {
        try await withTestPortico { portico in
            try await portico.createAPI("down", prefix: "/down", upstreamPort: try freeLoopbackPort())
            try await portico.grant("all", groups: ["buyers"])
            let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
            // A refusal is answered at once, not after the connect timeout (5 s here, far above a loaded machine's slack).
            try await portico.withGateway(timeouts: .init(connect: .seconds(5), read: .seconds(5))) { gateway in
                let started = ContinuousClock.now
                let response = try await gateway.get("/down", key: key)
                #expect(response.status == 502)
                #expect(try response.json()["error"] as? String == "upstream_unreachable")
                #expect(ContinuousClock.now - started < .seconds(3))
            }
        }
    }

    @Test func aSilentUpstreamIs504JSON() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("slow", prefix: "/slow", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway(timeouts: .init(connect: .seconds(1), read: .milliseconds(300))) { gateway in
                    let response = try await gateway.get("/slow?delay_ms=3000", key: key)
                    #expect(response.status == 504)
                    #expect(try response.json()["error"] as? String == "upstream_timeout")
                }
            }
        }
    }

    @Test func aDeprecatedAPIAnswersWithADeprecationHeader() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let api = try await portico.createAPI("old", prefix: "/old", upstreamPort: upstream)
                _ = try await APIService(store: portico.store).update(api.id, APIPatch(status: .deprecated), by: portico.actor)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let response = try await gateway.get("/old", key: key)
                    #expect(response.status == 200)
                    #expect(response.header("Deprecation") == "true")
                }
            }
        }
    }
}
