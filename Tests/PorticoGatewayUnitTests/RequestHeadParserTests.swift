import Testing

@testable import PorticoGateway

/// RFC 9112's rules that keep a proxy safe from request smuggling, each a case: what the head parser reads, and
/// what it refuses with which status.
@Suite struct RequestHeadParserTests {
    func parse(_ text: String) -> RequestHeadParser.Outcome {
        Array(text.utf8).withUnsafeBytes { RequestHeadParser.parse($0) }
    }

    func head(_ text: String) throws -> (RequestHead, [UInt8]) {
        let bytes = Array(text.utf8)
        guard case .head(let head) = bytes.withUnsafeBytes({ RequestHeadParser.parse($0) }) else {
            Issue.record("not a head: \(parse(text))")
            throw RequestHeadRefusal.malformed("test")
        }
        return (head, bytes)
    }

    func refusal(_ text: String) -> RequestHeadRefusal? {
        if case .refused(let refusal) = parse(text) { return refusal }
        return nil
    }

    func text(_ range: Range<Int>, _ bytes: [UInt8]) -> String { String(decoding: bytes[range], as: UTF8.self) }

    @Test func aRequestHeadIsReadInPlace() throws {
        let request = "GET /orders/1?x=y HTTP/1.1\r\nHost: gw\r\nAuthorization:  Bearer pk_1 \r\nX-Empty:\r\n\r\nBODY"
        let (head, bytes) = try head(request)
        #expect(text(head.method, bytes) == "GET")
        #expect(text(head.target, bytes) == "/orders/1?x=y")
        #expect(head.version == .http11)
        #expect(head.fields.map { text($0.name, bytes) } == ["Host", "Authorization", "X-Empty"])
        #expect(head.fields.map { text($0.value, bytes) } == ["gw", "Bearer pk_1", ""])
        #expect(head.length == request.utf8.count - 4)
        #expect(head.framing == .none)
        #expect(head.keepAlive && !head.expectsContinue && !head.asksUpgrade)
    }

    @Test func aHeadNotYetWhollyArrivedAsksForMore() {
        #expect(parse("GET /a HTTP/1.1\r\nHost: gw\r\n") == .incomplete)
        #expect(parse("GET /a HTTP/1.1\r\nHost: gw\r\n\r") == .incomplete)
        #expect(parse("GET /a HTT") == .incomplete)
        #expect(parse("") == .incomplete)
    }

    @Test func emptyLinesBeforeTheRequestLineAreSkipped() throws {
        let (head, bytes) = try head("\r\n\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(text(head.method, bytes) == "GET")
        #expect(refusal(String(repeating: "\r\n", count: 9) + "GET / HTTP/1.1\r\nHost: gw\r\n\r\n") != nil)
    }

    @Test func connectionPersistenceFollowsTheVersionAndConnectionHeader() throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.1\r\nHost: gw\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\n\r\n").0.keepAlive == false)
        #expect(try head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").0.keepAlive == true)
        #expect(try head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").0.version == .http10)
    }

    @Test func expectationsAndUpgradesAreNoted() throws {
        #expect(try head("POST / HTTP/1.1\r\nHost: gw\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n").0.expectsContinue)
        #expect(try head("GET / HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").0.asksUpgrade)
    }

    @Test func anAbsoluteFormTargetIsRead() throws {
        let (head, bytes) = try head("GET http://gw.example/orders?q=1 HTTP/1.1\r\nHost: gw.example\r\n\r\n")
        #expect(text(head.target, bytes) == "http://gw.example/orders?q=1")
    }

    @Test func pipelinedRequestsAreReadOneHeadAtATime() throws {
        let first = "GET /1 HTTP/1.1\r\nHost: gw\r\n\r\n"
        let (head, _) = try head(first + "GET /2 HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(head.length == first.utf8.count)
    }

    @Test func bodyFramingIsContentLengthOrChunked() throws {
        #expect(try head("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 12\r\n\r\n").0.framing == .contentLength(12))
        #expect(try head("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n").0.framing == .none)
        #expect(try head("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n").0.framing == .contentLength(5))
        #expect(try head("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: Chunked\r\n\r\n").0.framing == .chunked)
    }

    @Test(arguments: [
        ("Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("differing lengths", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        ("differing lengths in one list", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5, 6\r\n\r\n"),
        ("a signed length", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: +5\r\n\r\n"),
        ("a length with letters", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5a\r\n\r\n"),
        ("an empty length", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length:\r\n\r\n"),
        ("a huge length", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999999999999999999\r\n\r\n"),
        ("chunked not last", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ("chunked twice", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("an empty transfer coding", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: \r\n\r\n"),
        ("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("whitespace before the colon", "GET / HTTP/1.1\r\nHost : gw\r\n\r\n"),
        ("a tab before the colon", "GET / HTTP/1.1\r\nHost\t: gw\r\n\r\n"),
        ("obsolete line folding", "GET / HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\n 2\r\n\r\n"),
        ("a bare CR in a value", "GET / HTTP/1.1\r\nHost: gw\rX: 1\r\n\r\n"),
        ("a bare LF", "GET / HTTP/1.1\nHost: gw\n\n"),
        ("a NUL in a value", "GET / HTTP/1.1\r\nHost: g\u{0}w\r\n\r\n"),
        ("a control character in a value", "GET / HTTP/1.1\r\nHost: g\u{1}w\r\n\r\n"),
        ("a header without a colon", "GET / HTTP/1.1\r\nHost gw\r\n\r\n"),
        ("an empty header name", "GET / HTTP/1.1\r\n: gw\r\n\r\n"),
        ("no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("two spaces after the method", "GET  / HTTP/1.1\r\nHost: gw\r\n\r\n"),
        ("a space in the target", "GET /a b HTTP/1.1\r\nHost: gw\r\n\r\n"),
        ("a method that is not a token", "G(T / HTTP/1.1\r\nHost: gw\r\n\r\n"),
        ("a version that is not HTTP", "GET / HTP/1.1\r\nHost: gw\r\n\r\n"),
    ])
    func smugglingShapesAreRefusedWith400(_ name: String, _ request: String) {
        #expect(refusal(request)?.status == 400, "\(name): \(parse(request))")
    }

    @Test func aTransferCodingOtherThanChunkedIsNotImplemented() {
        #expect(refusal("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == .unsupportedTransferCoding("gzip"))
        #expect(refusal("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")?.status == 501)
    }

    @Test func anotherHTTPVersionIs505() {
        #expect(refusal("GET / HTTP/2.0\r\nHost: gw\r\n\r\n")?.status == 505)
        #expect(refusal("GET / HTTP/1.2\r\nHost: gw\r\n\r\n")?.status == 505)
    }

    @Test func aTargetOver8KiBIs414WhetherItsLineHasEndedOrNot() {
        let long = "/" + String(repeating: "a", count: 8 * 1024)
        #expect(refusal("GET \(long) HTTP/1.1\r\nHost: gw\r\n\r\n") == .targetTooLong)
        #expect(refusal("GET \(long)\(long)") == .targetTooLong)
        #expect(parse("GET /\(String(repeating: "a", count: 8 * 1024 - 1)) HTTP/1.1\r\nHost: gw\r\n\r\n") != .refused(.targetTooLong))
    }

    @Test func aHeadOver32KiBIs431WhetherItHasEndedOrNot() {
        let cookie = "Cookie: " + String(repeating: "c", count: 33 * 1024) + "\r\n"
        #expect(refusal("GET / HTTP/1.1\r\nHost: gw\r\n\(cookie)\r\n") == .headTooLarge)
        #expect(refusal("GET / HTTP/1.1\r\nHost: gw\r\n\(cookie)") == .headTooLarge)
        let within = "Cookie: " + String(repeating: "c", count: 30 * 1024) + "\r\n"
        #expect(refusal("GET / HTTP/1.1\r\nHost: gw\r\n\(within)\r\n") == nil)
    }
}

@Suite struct ChunkedFramingTests {
    /// Feeds `body` in pieces of `step` bytes; how many bytes belonged to the body, or the refusal.
    func frame(_ body: String, step: Int = .max) -> Result<Int, RequestHeadRefusal> {
        var framing = ChunkedFraming()
        let bytes = Array(body.utf8)
        var consumed = 0
        var offset = 0
        while offset < bytes.count, !framing.isComplete {
            let end = min(bytes.count, offset + min(step, bytes.count))
            do {
                consumed += try bytes[offset..<end].withUnsafeBytes { try framing.read($0) }
            } catch let refusal as RequestHeadRefusal {
                return .failure(refusal)
            } catch {
                return .failure(.malformed("\(error)"))
            }
            offset = end
        }
        return framing.isComplete ? .success(consumed) : .failure(.malformed("incomplete"))
    }

    @Test func theBodyEndsAfterTheLastChunkAndItsTrailerWhateverThePieces() {
        let body = "5\r\nhello\r\n1A;name=value;q=\"a \\\"b\\\"\" \r\n" + String(repeating: "z", count: 26) + "\r\n0\r\nX-Sum: 1\r\n\r\n"
        for step in [1, 2, 7, 1_000] {
            #expect(frame(body + "GET /next", step: step) == .success(body.utf8.count), "step \(step)")
        }
        let padded = "0005\r\nhello\r\n0 ; last\r\n\r\n"
        #expect(frame(padded + "NEXT") == .success(padded.utf8.count))
    }

    @Test(arguments: [
        ("a size that is not hexadecimal", "x\r\n"),
        ("a negative size", "-5\r\nhello\r\n0\r\n\r\n"),
        ("an empty size", "\r\nhello\r\n0\r\n\r\n"),
        ("a size too large", "1000000000000000\r\n"),
        ("a chunk longer than its size", "3\r\nhello\r\n0\r\n\r\n"),
        ("a size line ended by LF alone", "5\nhello\r\n0\r\n\r\n"),
        ("a bare CR in a size line", "5\rx\r\nhello\r\n0\r\n\r\n"),
        ("an extension without a name", "5;\r\nhello\r\n0\r\n\r\n"),
        ("an extension with an empty value", "5;a=\r\nhello\r\n0\r\n\r\n"),
        ("an unclosed quoted value", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
        ("something after the size", "5 x\r\nhello\r\n0\r\n\r\n"),
        ("an overlong size line", "5;a=" + String(repeating: "b", count: 5_000) + "\r\nhello\r\n0\r\n\r\n"),
        ("a folded trailer", "0\r\nX: 1\r\n 2\r\n\r\n"),
        ("a trailer without a colon", "0\r\nX 1\r\n\r\n"),
    ])
    func badFramingIsRefusedWith400(_ name: String, _ body: String) {
        guard case .failure(let refusal) = frame(body), case .malformed(let reason) = refusal else {
            Issue.record("\(name): accepted")
            return
        }
        #expect(reason != "incomplete", "\(name): read as incomplete, not refused")
        #expect(refusal.status == 400)
    }
}
