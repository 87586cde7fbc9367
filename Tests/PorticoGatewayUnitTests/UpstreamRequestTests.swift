import NIOCore
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
        let names = Set(head.sent.headers.map { $0.name.lowercased() })
        for dropped in ["connection", "keep-alive", "te", "upgrade", "proxy-authorization", "x-secret-hop", "expect"] {
            #expect(!names.contains(dropped), "\(dropped) is forwarded")
        }
        #expect(head.sent.headers.first(name: "accept") == "application/json")
        #expect(head.sent.headers[canonicalForm: "host"] == ["127.0.0.1:9"], "the upstream gets its own Host, once")
    }

    @Test func forwardingHeadersAreTheGatewaysOwnWithTheClientChainKept() {
        let head = UpstreamRequest.head(
            for: request(
                "/orders", headers: [("X-Forwarded-For", "203.0.113.1"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "spoofed.example")]),
            api: api, changes: UpstreamRequestChanges())
        #expect(head.sent.headers[canonicalForm: "x-forwarded-for"] == ["203.0.113.1", "192.0.2.7"])
        #expect(head.sent.headers[canonicalForm: "x-forwarded-proto"] == ["http"])
        #expect(head.sent.headers[canonicalForm: "x-forwarded-host"] == ["gateway.example"])
    }

    @Test func aChunkedBodyStaysChunked() {
        let head = UpstreamRequest.head(
            for: request(.POST, "/orders", headers: [("Transfer-Encoding", "chunked")]), api: api, changes: UpstreamRequestChanges())
        #expect(head.sent.headers[canonicalForm: "transfer-encoding"] == ["chunked"])
    }

    @Test func credentialChangesRemoveHeadersAddClaimsAndReplaceTheQuery() {
        var changes = UpstreamRequestChanges()
        changes.removedHeaders = ["authorization", "x-user"]
        changes.addedHeaders = [("X-User", "ada")]
        changes.query = .some("page=2")
        let head = UpstreamRequest.head(
            for: request("/orders/1?token=abc&page=2", headers: [("Authorization", "Bearer abc"), ("X-User", "mallory")]), api: api,
            changes: changes)
        #expect(head.sent.uri == "/orders/1?page=2")
        #expect(head.sent.headers.first(name: "authorization") == nil)
        #expect(head.sent.headers[canonicalForm: "x-user"] == ["ada"], "a client cannot send a header the gateway sets from claims")

        changes.query = .some(nil)
        #expect(UpstreamRequest.head(for: request("/orders/1?token=abc"), api: api, changes: changes).sent.uri == "/orders/1")
    }

    @Test func theAnswerLosesConnectionHeadersAndTheGatewaysHeadersWin() throws {
        let upstream = ByteBuffer(
            string: "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
                + "Transfer-Encoding: chunked\r\nX-RateLimit-Limit: 999\r\n\r\n")
        let parsed = upstream.withUnsafeReadableBytes { ResponseHeadParser.parse($0, answersHead: false) }
        guard case .head(let head) = parsed else {
            Issue.record("the answer does not parse: \(parsed)")
            return
        }
        #expect(head.framing == .chunked)
        #expect(!head.keepAlive)
        let written = String(
            buffer: UpstreamRequest.responseHead(head, bytes: upstream, adding: HTTPHeaders([("X-RateLimit-Limit", "10")]), closing: false))
        let lines = written.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "HTTP/1.1 201 Created")
        #expect(lines.contains("Content-Type: application/json"))
        #expect(!lines.contains { $0.lowercased().hasPrefix("connection") || $0.lowercased().hasPrefix("x-hop") })
        #expect(lines.filter { $0.lowercased().hasPrefix("transfer-encoding") } == ["Transfer-Encoding: chunked"], "the body keeps its framing")
        #expect(lines.filter { $0.lowercased().hasPrefix("x-ratelimit-limit") } == ["X-RateLimit-Limit: 10"])
        #expect(written.hasSuffix("\r\n\r\n"))
    }

    @Test func aLengthIsWrittenOnceAndAClosingAnswerSaysSo() throws {
        let upstream = ByteBuffer(string: "HTTP/1.0 200 OK\r\nContent-Length: 5, 5\r\nConnection: keep-alive\r\n\r\n")
        guard case .head(let head) = upstream.withUnsafeReadableBytes({ ResponseHeadParser.parse($0, answersHead: false) }) else {
            Issue.record("the answer does not parse")
            return
        }
        #expect(head.framing == .contentLength(5))
        #expect(head.keepAlive, "HTTP/1.0 with keep-alive")
        let lines = String(buffer: UpstreamRequest.responseHead(head, bytes: upstream, adding: [:], closing: true)).split(separator: "\r\n")
        #expect(lines.filter { $0.lowercased().hasPrefix("content-length") } == ["Content-Length: 5"])
        #expect(lines.contains("Connection: close"))
    }

    @Test func namesAClaimMayNotSetIncludeEveryHeaderTheProxyDrops() {
        for name in HeaderNameRules.hopByHop { #expect(HeaderNameRules.reserved.contains(name)) }
        for name in ["authorization", "cookie", "content-length"] { #expect(HeaderNameRules.reserved.contains(name)) }
        #expect(HeaderNameRules.isHopByHop("Transfer-Encoding"))
        #expect(!HeaderNameRules.isHopByHop("Content-Type"))
    }
}

@Suite struct HTTPDateTests {
    @Test func theDateIsAnIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.now().hasSuffix(" GMT"))
    }
}
