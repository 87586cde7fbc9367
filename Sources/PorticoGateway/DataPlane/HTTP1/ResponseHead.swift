import NIOCore

/// An upstream's response head read in place, as `RequestHead` is.
package struct ResponseHead: Sendable, Equatable {
    /// How the body that follows is delimited (RFC 9112 §6.3).
    package enum Framing: Sendable, Equatable {
        case none
        case contentLength(Int)
        case chunked
        /// No length given: the body is whatever comes until the upstream closes.
        case untilClose
    }

    package let status: Int
    /// The status code and reason phrase (`200 OK`), relayed as the upstream wrote them.
    let statusText: Range<Int>
    let fields: [RequestHead.Field]
    package let length: Int
    package let framing: Framing
    /// The upstream keeps the connection open after this answer.
    package let keepAlive: Bool
}

/// Reads an upstream's response head with the request head's rules for lines and fields: a response that two
/// parsers would frame differently could slip a second answer onto the client's connection.
package enum ResponseHeadParser {
    static let maxHeadBytes = 64 * 1024

    package enum Outcome: Sendable, Equatable {
        case incomplete
        case head(ResponseHead)
        case refused(String)
    }

    /// `answersHead`: the request was a `HEAD`, so no body follows whatever the fields say.
    package static func parse(_ bytes: UnsafeRawBufferPointer, answersHead: Bool) -> Outcome {
        var reader = LineReader(bytes: bytes)
        do throws(RequestHeadRefusal) {
            guard let statusLine = try reader.line() else { return bytes.count > maxHeadBytes ? .refused("the head is too large") : .incomplete }
            let (version, status, statusText) = try Self.statusLine(statusLine, in: bytes)
            var fields: [RequestHead.Field] = []
            while true {
                guard let line = try reader.line() else { return bytes.count > maxHeadBytes ? .refused("the head is too large") : .incomplete }
                if line.isEmpty { break }
                fields.append(try RequestHeadParser.field(line, in: bytes))
            }
            let (framing, keepAlive) = try Self.framing(status: status, version: version, answersHead: answersHead, fields: fields, in: bytes)
            return .head(
                ResponseHead(status: status, statusText: statusText, fields: fields, length: reader.position, framing: framing, keepAlive: keepAlive))
        } catch {
            switch error {
            case .malformed(let reason): return .refused(reason)
            default: return .refused("the head is malformed")
            }
        }
    }

    /// `HTTP-version SP 3DIGIT SP [ reason-phrase ]`; a missing space after the code is tolerated, as clients do.
    private static func statusLine(
        _ line: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(RequestHeadRefusal) -> (RequestHead.Version, Int, Range<Int>) {
        guard line.count >= 12, bytes[line.lowerBound + 8] == Byte.space else { throw .malformed("the status line is malformed") }
        let version: RequestHead.Version
        switch Array(bytes[line.lowerBound..<(line.lowerBound + 8)]) {
        case Array("HTTP/1.1".utf8): version = .http11
        case Array("HTTP/1.0".utf8): version = .http10
        default: throw .malformed("the response is not HTTP/1.1 or HTTP/1.0")
        }
        let code = (line.lowerBound + 9)..<(line.lowerBound + 12)
        guard bytes[code].allSatisfy(Byte.isDigit) else { throw .malformed("the status code is not three digits") }
        let status = bytes[code].reduce(0) { $0 * 10 + Int($1 - Byte.zero) }
        guard status >= 100 else { throw .malformed("the status code is under 100") }
        if line.count > 12 {
            guard bytes[line.lowerBound + 12] == Byte.space else { throw .malformed("the status code is not followed by a space") }
            guard bytes[(line.lowerBound + 13)..<line.upperBound].allSatisfy(Byte.isFieldValueCharacter) else {
                throw .malformed("the reason phrase holds a control character")
            }
        }
        return (version, status, code.lowerBound..<line.upperBound)
    }

    private static func framing(
        status: Int, version: RequestHead.Version, answersHead: Bool, fields: [RequestHead.Field], in bytes: UnsafeRawBufferPointer
    ) throws(RequestHeadRefusal) -> (ResponseHead.Framing, Bool) {
        var framing = FramingFields()
        for field in fields { _ = try framing.read(name: bytes[field.name], value: bytes[field.value]) }
        let (lengths, transferEncoding, close, keepAliveToken) = (framing.lengths, framing.transferEncoding, framing.close, framing.keepAliveToken)
        let chunkedLast = framing.codings.last.map { Byte.equalsIgnoringCase($0, "chunked") } ?? false
        var keepAlive = version == .http11 ? !close : (keepAliveToken && !close)
        if answersHead || status < 200 || status == 204 || status == 304 { return (.none, keepAlive) }
        if transferEncoding {
            // Both framings at once: the transfer coding wins and the connection is not trusted again (§6.3).
            if !lengths.isEmpty { keepAlive = false }
            return chunkedLast && version == .http11 ? (.chunked, keepAlive) : (.untilClose, false)
        }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }) else { throw .malformed("the response has differing Content-Length values") }
            return (first == 0 ? .none : .contentLength(first), keepAlive)
        }
        return (.untilClose, false)
    }
}

/// Splits an upstream connection's bytes into answers, as `RequestStream` does for a client's: the head, the
/// body's bytes as they came, the end. Interim (1xx) answers are passed over; a `101` is refused, as the gateway
/// never asks an upstream to switch protocols.
package struct ResponseStream: Sendable {
    package enum Message: Sendable, Equatable {
        case head(ResponseHead, ByteBuffer)
        case body(ByteBuffer)
        case end
    }

    private enum State: Sendable {
        /// No request is outstanding: bytes now are not an answer to anything.
        case idle
        case head(answersHead: Bool)
        case length(remaining: Int)
        case chunked(ChunkedFraming)
        case untilClose
        case ending
        case failed
    }

    private var bytes = PendingBytes()
    private var state = State.idle

    package init() {}

    /// A request went out: its answer is read next.
    package mutating func expectAnswer(toHead: Bool) { state = .head(answersHead: toHead) }

    package mutating func append(_ received: ByteBuffer) { bytes.append(received) }

    /// Bytes beyond the answer: an upstream that sends them is not given another request on this connection.
    package var hasPendingBytes: Bool { !bytes.isEmpty }

    package var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    package mutating func next() throws(RequestHeadRefusal) -> Message? {
        switch state {
        case .idle, .failed:
            return nil
        case .ending:
            state = .idle
            return .end
        case .head(let answersHead):
            while !bytes.isEmpty {
                switch bytes.buffer.withUnsafeReadableBytes({ ResponseHeadParser.parse($0, answersHead: answersHead) }) {
                case .incomplete:
                    return nil
                case .refused(let reason):
                    state = .failed
                    throw .malformed(reason)
                case .head(let head):
                    guard let headBytes = bytes.take(head.length) else { return nil }
                    if head.status == 101 {
                        state = .failed
                        throw .malformed("the upstream switched protocols unasked")
                    }
                    if head.status < 200 { continue }
                    switch head.framing {
                    case .none: state = .ending
                    case .contentLength(let length): state = .length(remaining: length)
                    case .chunked: state = .chunked(ChunkedFraming())
                    case .untilClose: state = .untilClose
                    }
                    return .head(head, headBytes)
                }
            }
            return nil
        case .length(let remaining):
            guard let (piece, left) = bytes.lengthPiece(remaining: remaining) else { return nil }
            state = left == 0 ? .ending : .length(remaining: left)
            return .body(piece)
        case .untilClose:
            guard let (piece, _) = bytes.lengthPiece(remaining: .max) else { return nil }
            return .body(piece)
        case .chunked(var framing):
            do {
                guard let (piece, _) = try bytes.chunkedPiece(&framing) else { return nil }
                state = framing.isComplete ? .ending : .chunked(framing)
                return .body(piece)
            } catch {
                state = .failed
                throw error
            }
        }
    }

    /// The upstream closed its side: the end of a body delimited by the close, or nil when the answer was cut short
    /// (or none was due).
    package mutating func closed() -> Message? {
        guard case .untilClose = state else { return nil }
        state = .idle
        return .end
    }
}
