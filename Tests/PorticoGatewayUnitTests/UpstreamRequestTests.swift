import NIOHTTP1
import PorticoCore
import Testing

@testable import PorticoGateway

/// What goes upstream and what comes back: connection-level headers stop at the gateway, forwarding headers are
/// the gateway's own, and the credential changes of JWT mode are applied.
@Suite struct UpstreamRequestTests {
    let api: GatewayAPI

    init() throws {
        api = GatewayAPI(
            id: .init(), name: "orders", pathPrefix: "/orders", host: nil, upstream: try Upstream("http://127.0.0.1:9"), stripPrefix: false,
            status: .published)
    }

    @Test func hopByHopAndConnectionListedHeadersAreNotForwarded() {
        let head = UpstreamRequest.head(
            for: request(
                "/orders",
                headers: [
                    ("Connection", "keep-alive, X-Secret-Hop"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Upgrade", "h2c"),
                    ("Proxy-Authorization", "Basic eA=="), ("X-Secret-Hop", "1"), ("Expect", "100-continue"), ("Accept", "application/json"),
                ]), api: api, changes: UpstreamRequestChanges())
        let names = Set(head.headers.map { $0.name.lowercased() })
        for dropped in ["connection", "keep-alive", "te", "upgrade", "proxy-authorization", "x-secret-hop", "expect"] {
            #expect(!names.contains(dropped), "\(dropped) is forwarded")
        }
        #expect(head.headers.first(name: "accept") == "application/json")
        #expect(head.headers[canonicalForm: "host"] == ["127.0.0.1:9"], "the upstream gets its own Host, once")
    }

    @Test func forwardingHeadersAreTheGatewaysOwnWithTheClientChainKept() {
        let head = UpstreamRequest.head(
            for: request(
                "/orders", headers: [("X-Forwarded-For", "203.0.113.1"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "spoofed.example")]),
            api: api, changes: UpstreamRequestChanges())
        #expect(head.headers[canonicalForm: "x-forwarded-for"] == ["203.0.113.1", "192.0.2.7"])
        #expect(head.headers[canonicalForm: "x-forwarded-proto"] == ["http"])
        #expect(head.headers[canonicalForm: "x-forwarded-host"] == ["gateway.example"])
    }

    @Test func aChunkedBodyStaysChunked() {
        let head = UpstreamRequest.head(
            for: request(.POST, "/orders", headers: [("Transfer-Encoding", "chunked")]), api: api, changes: UpstreamRequestChanges())
        #expect(head.headers[canonicalForm: "transfer-encoding"] == ["chunked"])
    }

    @Test func credentialChangesRemoveHeadersAddClaimsAndReplaceTheQuery() {
        var changes = UpstreamRequestChanges()
        changes.removedHeaders = ["authorization", "x-user"]
        changes.addedHeaders = [("X-User", "ada")]
        changes.query = .some("page=2")
        let head = UpstreamRequest.head(
            for: request("/orders/1?token=abc&page=2", headers: [("Authorization", "Bearer abc"), ("X-User", "mallory")]), api: api,
            changes: changes)
        #expect(head.uri == "/orders/1?page=2")
        #expect(head.headers.first(name: "authorization") == nil)
        #expect(head.headers[canonicalForm: "x-user"] == ["ada"], "a client cannot send a header the gateway sets from claims")

        changes.query = .some(nil)
        #expect(UpstreamRequest.head(for: request("/orders/1?token=abc"), api: api, changes: changes).uri == "/orders/1")
    }

    @Test func theAnswerLosesConnectionHeadersAndTheGatewaysHeadersWin() {
        let upstream = HTTPHeaders([
            ("Content-Type", "application/json"), ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Transfer-Encoding", "chunked"),
            ("X-RateLimit-Limit", "999"),
        ])
        let headers = UpstreamRequest.responseHeaders(upstream, adding: HTTPHeaders([("X-RateLimit-Limit", "10")]))
        #expect(headers.first(name: "content-type") == "application/json")
        #expect(headers.first(name: "connection") == nil)
        #expect(headers.first(name: "x-hop") == nil)
        #expect(headers.first(name: "transfer-encoding") == nil)
        #expect(headers[canonicalForm: "x-ratelimit-limit"] == ["10"])
    }

    @Test func namesAClaimMayNotSetIncludeEveryHeaderTheProxyDrops() {
        for name in HeaderNameRules.hopByHop { #expect(HeaderNameRules.reserved.contains(name)) }
        for name in ["authorization", "cookie", "content-length"] { #expect(HeaderNameRules.reserved.contains(name)) }
        #expect(HeaderNameRules.isHopByHop("Transfer-Encoding"))
        #expect(!HeaderNameRules.isHopByHop("Content-Type"))
    }
}
