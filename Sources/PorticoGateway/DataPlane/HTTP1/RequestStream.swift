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

    private var buffer = ByteBuffer()
    private var state = State.head

    package init() {}

    /// Bytes from the client, kept until `next()` takes them.
    package mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    /// Whether the bytes waiting begin a further request (or part of one): the connection is not idle.
    package var hasPendingBytes: Bool { buffer.readableBytes > 0 }

    /// The next message, or nil until more bytes arrive. A refused head or body framing ends the stream.
    package mutating func next() throws(RequestHeadRefusal) -> Message? {
        switch state {
        case .failed:
            return nil
        case .ending:
            state = .head
            return .end
        case .head:
            guard buffer.readableBytes > 0 else { return nil }
            let outcome = buffer.withUnsafeReadableBytes { RequestHeadParser.parse($0) }
            switch outcome {
            case .incomplete:
                return nil
            case .refused(let refusal):
                state = .failed
                throw refusal
            case .head(let head):
                guard let bytes = buffer.readSlice(length: head.length) else { return nil }
                switch head.framing {
                case .none: state = .ending
                case .contentLength(let length): state = .length(remaining: length)
                case .chunked: state = .chunked(ChunkedFraming())
                }
                return .head(head, bytes)
            }
        case .length(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let taken = min(remaining, buffer.readableBytes)
            guard let slice = buffer.readSlice(length: taken) else { return nil }
            state = taken == remaining ? .ending : .length(remaining: remaining - taken)
            return .body(slice, payload: taken)
        case .chunked(var framing):
            guard buffer.readableBytes > 0 else { return nil }
            let payloadBefore = framing.payloadBytes
            let read = buffer.withUnsafeReadableBytes { bytes in
                Result { () throws(RequestHeadRefusal) in try framing.read(bytes) }
            }
            switch read {
            case .failure(let refusal):
                state = .failed
                throw refusal
            case .success(let taken):
                state = framing.isComplete ? .ending : .chunked(framing)
                guard let slice = buffer.readSlice(length: taken) else { return nil }
                return .body(slice, payload: framing.payloadBytes - payloadBefore)
            }
        }
    }
}
