import Foundation
import PorticoCore
import PorticoDemo
import PorticoGateway
import PorticoTestSupport
import Testing

/// The gateway's own HTTP/1.1 handling: what a client library would hide (pipelining, framing, bad requests).
@Suite struct GatewayDataPlaneTests {
    /// An echo upstream behind `/orders`, a consumer key, and the gateway.
    func withOrders(_ body: (GatewayHandle, String, Int) async throws -> Void) async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"], limit: 100)
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in try await body(gateway, key, upstream) }
            }
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        try await withOrders { gateway, key, _ in
            let request = { (path: String, last: Bool) in
                "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n\(last ? "Connection: close\r\n" : "")\r\n"
            }
            // Three requests in one write: a proxied one, a refused one, a proxied one.
            let text = try await RawHTTP.exchange(
                port: gateway.port, request("/orders/1", false) + request("/nowhere", false) + request("/orders/3", true))
            let responses = RawHTTP.responses(in: text)
            try #require(responses.count == 3)
            #expect(responses[0].status == "HTTP/1.1 200 OK")
            #expect(responses[0].body.contains(#""path":"\/orders\/1""#))
            #expect(responses[1].status == "HTTP/1.1 404 Not Found")
            #expect(responses[2].status == "HTTP/1.1 200 OK")
            #expect(responses[2].body.contains(#""path":"\/orders\/3""#))
            #expect(responses[2].headers.contains { $0.lowercased() == "connection: close" })
            #expect(responses[2].headers.contains { $0.lowercased().hasPrefix("x-ratelimit-remaining:") })
        }
    }

    @Test func aMalformedRequestIs400AndTheConnectionCloses() async throws {
        try await withOrders { gateway, _, _ in
            let text = try await RawHTTP.exchange(port: gateway.port, "GET /orders HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            #expect(text.lowercased().contains("connection: close"))
        }
    }

    @Test func aChunkedRequestBodyIsStreamedUpstream() async throws {
        try await withOrders { gateway, key, _ in
            let request =
                "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: text/plain\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            let text = try await RawHTTP.exchange(port: gateway.port, request)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.lowercased().contains("x-upstream-method: post"))
            // The echo streams the body back chunked; its bytes arrive whole.
            #expect(text.contains("hello") && text.contains(" world"))
        }
    }

    @Test func aClientExpecting100ContinueGetsItFromTheGateway() async throws {
        try await withOrders { gateway, key, _ in
            let request =
                "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello"
            let text = try await RawHTTP.exchange(port: gateway.port, request)
            #expect(text.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
            #expect(text.hasSuffix("hello"))
        }
    }

    @Test func aHeadRequestGetsHeadersOnlyAndTheConnectionStaysUsable() async throws {
        try await withOrders { gateway, key, _ in
            let head = "HEAD /orders/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n\r\n"
            let get = "GET /orders/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nConnection: close\r\n\r\n"
            let text = try await RawHTTP.exchange(port: gateway.port, head + get)
            let statusLines = text.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
            #expect(statusLines == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"])
            #expect(text.contains(#""path":"\/orders\/2""#))
            #expect(!text.contains(#""path":"\/orders\/1""#))
        }
    }

    @Test func anUpstreamThatWentAwayAndCameBackIsReachedAgain() async throws {
        try await withTestPortico { portico in
            let port = try freeLoopbackPort()
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: port)
            try await portico.grant("all", groups: ["buyers"])
            let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
            try await portico.withGateway { gateway in
                // The first upstream leaves a keep-alive connection in the pool, then stops (closing it).
                let first = try await withUpstream(EchoUpstream(), port: port) { _ in try await gateway.get("/orders/1", key: key) }
                #expect(first.status == 200)
                let whileDown = try await gateway.get("/orders/2", key: key)
                #expect(whileDown.status == 502)
                let again = try await withUpstream(EchoUpstream(), port: port) { _ in try await gateway.get("/orders/3", key: key) }
                #expect(again.status == 200)
            }
        }
    }
}
