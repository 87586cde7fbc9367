import NIOCore

/// Splits a client connection's bytes into requests: each head with the bytes it was read from, then the body's
/// bytes exactly as they came (chunk framing included, for the upstream gets them chunked too), then its end.
/// Bytes past the end of one request stay here until the connection is ready for the next (pipelining).
package struct RequestStream: Sendable {
    package enum Message: Sendable, Equatable {
        case head(RequestHead, ByteBuffer)
        /// Body bytes as they came, and how many of them are the body's data (chunk framing left out).
        case body(ByteBuffer, payload: Int)
        case end
    }

    private enum State: Sendable {
        case head
        case length(remaining: Int)
        case chunked(ChunkedFraming)
        /// The body is over (or there was none): `.end` comes next.
        case ending
        /// A refusal was returned: nothing after it is read.
        case failed
    }

    private var bytes = PendingBytes()
    private var state = State.head

    package init() {}

    /// Bytes from the client, kept until `next()` takes them.
    package mutating func append(_ received: ByteBuffer) { bytes.append(received) }

    /// Whether the bytes waiting begin a further request (or part of one): the connection is not idle.
    package var hasPendingBytes: Bool { !bytes.isEmpty }

    /// The next message, or nil until more bytes arrive. A refused head or body framing ends the stream.
    package mutating func next() throws(RequestHeadRefusal) -> Message? {
        switch state {
        case .failed:
            return nil
        case .ending:
            state = .head
            return .end
        case .head:
            guard !bytes.isEmpty else { return nil }
            switch bytes.buffer.withUnsafeReadableBytes({ RequestHeadParser.parse($0) }) {
            case .incomplete:
                return nil
            case .refused(let refusal):
                state = .failed
                throw refusal
            case .head(let head):
                guard let headBytes = bytes.take(head.length) else { return nil }
                switch head.framing {
                case .none: state = .ending
                case .contentLength(let length): state = .length(remaining: length)
                case .chunked: state = .chunked(ChunkedFraming())
                }
                return .head(head, headBytes)
            }
        case .length(let remaining):
            guard let (piece, left) = bytes.lengthPiece(remaining: remaining) else { return nil }
            state = left == 0 ? .ending : .length(remaining: left)
            return .body(piece, payload: piece.readableBytes)
        case .chunked(var framing):
            do {
                guard let (piece, payload) = try bytes.chunkedPiece(&framing) else { return nil }
                state = framing.isComplete ? .ending : .chunked(framing)
                return .body(piece, payload: payload)
            } catch {
                state = .failed
                throw error
            }
        }
    }
}
