import Foundation
import Logging
import Metrics
import NIOCore
import NIOEmbedded
import PorticoCore
import Testing

@testable import PorticoGateway

/// The connection handler on an embedded channel, bytes in and bytes out, with no sockets: pipelining, the
/// answers to bytes that are not HTTP/1.1, HTTP/1.0 and `Connection: close`. Every request here is answered by the
/// gateway itself (no route, no credential), so none needs an upstream.
@Suite struct GatewayConnectionHandlerTests {
    let server: GatewayServer

    init() throws {
        let fixture = try DecisionFixture()
        var logger = Logger(label: "unit")
        logger.logLevel = .critical
        server = GatewayServer(
            configuration: GatewayConfiguration(port: 0), policy: PolicyHolder(loaded: try fixture.snapshot()), usage: RecordingSink(),
            metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance), logger: logger)
    }

    /// What the gateway wrote back for `input`, and whether it closed its side.
    func exchange(_ input: [String]) throws -> (output: String, closed: Bool) {
        let channel = EmbeddedChannel()
        try server.configureConnection(channel)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).wait()
        for piece in input { try channel.writeInbound(ByteBuffer(string: piece)) }
        channel.embeddedEventLoop.run()
        var output = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { output += String(buffer: buffer) }
        let closed = !channel.isActive
        _ = try? channel.finish()
        return (output, closed)
    }

    /// The status of each answer; an answer's body is followed directly by the next answer's status line.
    func statuses(_ output: String) -> [String] {
        output.matches(of: #/HTTP/1\.1 (\d{3}) /#).map { String($0.output.1) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        let (output, closed) = try exchange([
            "GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\nGET /orders/1 HTTP/1.1\r\nHost: gw\r\n\r\nPOST /orders HTTP/1.1\r\nHost: gw\r\nContent-Le",
            "ngth: 5\r\n\r\nhelloGET /nowhere/again HTTP/1.1\r\nHost: gw\r\n\r\n",
        ])
        #expect(statuses(output) == ["404", "401", "401", "404"])
        #expect(output.contains("no API matches /nowhere/again"), "the last answer is the last request's")
        #expect(!closed)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400", "both Content-Length and Transfer-Encoding"),
        ("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "400", "differing Content-Length"),
        ("GET / HTTP/1.1\r\nHost : gw\r\n\r\n", "400", "header name"),
        ("GET / HTTP/1.1\r\nHost: gw\r\nX: a\r\n b\r\n\r\n", "400", "folding"),
        ("GET / HTTP/1.1\r\nHost: gw\rX: 1\r\n\r\n", "400", "bare CR"),
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501", "gzip"),
        ("GET / HTTP/2.0\r\nHost: gw\r\n\r\n", "505", "unsupported_http_version"),
        ("GET /" + String(repeating: "a", count: 9_000) + " HTTP/1.1\r\nHost: gw\r\n\r\n", "414", "longer than 8 KiB"),
        ("GET / HTTP/1.1\r\nHost: gw\r\nX-Big: " + String(repeating: "b", count: 33_000) + "\r\n\r\n", "431", "larger than 32 KiB"),
    ])
    func badBytesAreAnsweredOnceNamingTheProblemAndTheConnectionCloses(_ input: String, _ status: String, _ named: String) throws {
        let (output, closed) = try exchange([input + "GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n"])
        #expect(statuses(output) == [status], "nothing after bad bytes is read")
        #expect(output.contains(named))
        #expect(output.contains("Connection: close"))
        #expect(closed)
    }

    @Test func aSmuggledRequestBehindBadChunkFramingIsNeverAnswered() throws {
        let (output, closed) = try exchange([
            "POST /nowhere HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0x\r\n\r\nGET /orders HTTP/1.1\r\nHost: gw\r\n\r\n"
        ])
        #expect(statuses(output) == ["404"], "the refused request's answer is already out; the bad framing only closes")
        #expect(closed)
    }

    @Test func http10AndConnectionCloseEndTheConnectionAfterTheAnswer() throws {
        for request in ["GET /nowhere HTTP/1.0\r\n\r\n", "GET /nowhere HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"] {
            let (output, closed) = try exchange([request + "GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n"])
            #expect(statuses(output) == ["404"])
            #expect(output.contains("Connection: close"))
            #expect(closed)
        }
        let (output, closed) = try exchange(["GET /nowhere HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nowhere HTTP/1.0\r\n\r\n"])
        #expect(statuses(output) == ["404", "404"], "HTTP/1.0 with keep-alive stays open")
        #expect(closed)
    }

    @Test func aRefusedRequestsBodyIsReadAndDroppedWithoutAContinue() throws {
        let (output, closed) = try exchange([
            "POST /orders HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "hello",
            "GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n",
        ])
        #expect(!output.contains("100 Continue"), "a refused request is answered at once, without asking for its body")
        #expect(statuses(output) == ["401", "404"])
        #expect(!closed)
    }

    @Test func anAbsoluteFormTargetIsRoutedByItsPath() throws {
        let (output, _) = try exchange(["GET http://gw.example/orders/1?x=1 HTTP/1.1\r\nHost: other\r\n\r\n"])
        #expect(statuses(output) == ["401"], "routed to the orders API, which wants a credential")
    }
}
