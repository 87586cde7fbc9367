import NIOCore
import Testing

@testable import PorticoGateway

/// A connection's bytes split into messages, whatever pieces they arrive in: requests from a client, answers from
/// an upstream.
@Suite struct RequestStreamTests {
    /// Every message in `text` fed `step` bytes at a time, bodies joined, or the refusal.
    func messages(_ text: String, step: Int = .max) -> (messages: [String], refusal: RequestHeadRefusal?) {
        var stream = RequestStream()
        var messages: [String] = []
        var body = ""
        let bytes = Array(text.utf8)
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + min(step, bytes.count))
            stream.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            do {
                while let message = try stream.next() {
                    switch message {
                    case .head(_, let head): messages.append("head \(String(buffer: head).prefix { $0 != "\r\n" })")
                    case .body(let buffer, _): body += String(buffer: buffer)
                    case .end:
                        if !body.isEmpty { messages.append("body \(body)") }
                        body = ""
                        messages.append("end")
                    }
                }
            } catch {
                return (messages, error)
            }
        } while offset < bytes.count
        return (messages, nil)
    }

    @Test func pipelinedRequestsComeOutInOrderWhateverThePieces() {
        let text =
            "GET /a HTTP/1.1\r\nHost: gw\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /d HTTP/1.0\r\n\r\n"
        let expected = [
            "head GET /a HTTP/1.1", "end", "head POST /b HTTP/1.1", "body hello", "end", "head POST /c HTTP/1.1",
            "body 3\r\nabc\r\n0\r\n\r\n", "end", "head GET /d HTTP/1.0", "end",
        ]
        for step in [1, 3, 17, 10_000] {
            let (messages, refusal) = messages(text, step: step)
            #expect(refusal == nil, "step \(step)")
            #expect(messages == expected, "step \(step)")
        }
    }

    @Test func theChunkedBodysDataIsCountedWithoutItsFraming() throws {
        var stream = RequestStream()
        stream.append(ByteBuffer(string: "POST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\n"))
        _ = try stream.next()
        guard case .body(let bytes, let payload) = try stream.next() else {
            Issue.record("no body")
            return
        }
        #expect(bytes.readableBytes == 14)
        #expect(payload == 5)
    }

    @Test func aRequestSmuggledBehindBadFramingIsNeverRead() {
        let smuggled = "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n\r\nGET /admin HTTP/1.1\r\nHost: gw\r\n\r\n"
        let (messages, refusal) = messages(smuggled)
        #expect(refusal != nil)
        #expect(messages == ["head POST /a HTTP/1.1"])
    }

    @Test func aRefusedHeadEndsTheStream() throws {
        var stream = RequestStream()
        stream.append(ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(throws: RequestHeadRefusal.self) { try stream.next() }
        stream.append(ByteBuffer(string: "GET /b HTTP/1.1\r\nHost: gw\r\n\r\n"))
        #expect(try stream.next() == nil, "nothing after a refusal is read")
    }
}

@Suite struct ResponseStreamTests {
    func answers(_ text: String, toHead: Bool = false, closed: Bool = false, step: Int = .max) -> [String] {
        var stream = ResponseStream()
        stream.expectAnswer(toHead: toHead)
        var out: [String] = []
        var body = ""
        let bytes = Array(text.utf8)
        var offset = 0
        func drain() {
            do {
                while let message = try stream.next() {
                    switch message {
                    case .head(let head, _): out.append("\(head.status)")
                    case .body(let buffer): body += String(buffer: buffer)
                    case .end: out.append("end \(body)")
                    }
                }
            } catch {
                out.append("refused")
            }
        }
        repeat {
            let end = min(bytes.count, offset + min(step, bytes.count))
            stream.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            drain()
        } while offset < bytes.count
        if closed, case .end = stream.closed() { out.append("end \(body)") }
        return out
    }

    @Test func interimAnswersArePassedOverAndTheFinalOneFramed() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        for step in [1, 5, 1_000] { #expect(answers(text, step: step) == ["200", "end ok"], "step \(step)") }
    }

    @Test func chunkedBodiesAreRelayedWithTheirFraming() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        #expect(answers(text) == ["200", "end 2\r\nok\r\n0\r\n\r\n"])
    }

    @Test func headAnswersAnd204And304HaveNoBodyWhateverTheirFieldsSay() {
        #expect(answers("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", toHead: true) == ["200", "end "])
        #expect(answers("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n") == ["204", "end "])
        #expect(answers("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n") == ["304", "end "])
    }

    @Test func anAnswerWithoutALengthEndsWhenTheUpstreamCloses() {
        #expect(answers("HTTP/1.1 200 OK\r\n\r\nstream", closed: true) == ["200", "end stream"])
        #expect(answers("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", closed: true) == ["200"], "a cut answer has no end")
    }

    @Test func malformedAnswersAreRefused() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            #expect(answers(text).last == "refused", "\(text)")
        }
    }

    @Test func aStatusLineWithoutAReasonIsRead() {
        #expect(answers("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == ["200", "end "])
    }
}
