import NIOCore

/// One direction of a connection's bytes, kept until a stream takes them, and the body pieces both streams cut
/// from them: a piece of a body with a declared length, or of a chunked body followed by its framing.
struct PendingBytes: Sendable {
    private(set) var buffer = ByteBuffer()

    mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    var isEmpty: Bool { buffer.readableBytes == 0 }

    /// The first `length` bytes, taken.
    mutating func take(_ length: Int) -> ByteBuffer? { buffer.readSlice(length: length) }

    /// What is here of a body of which `remaining` bytes are still due, and how many are due after it.
    mutating func lengthPiece(remaining: Int) -> (piece: ByteBuffer, remaining: Int)? {
        guard !isEmpty, let piece = take(min(remaining, buffer.readableBytes)) else { return nil }
        return (piece, remaining - piece.readableBytes)
    }

    /// What is here of a chunked body, up to its end if that is here, with its data's size (framing left out).
    mutating func chunkedPiece(_ framing: inout ChunkedFraming) throws(RequestHeadRefusal) -> (piece: ByteBuffer, payload: Int)? {
        guard !isEmpty else { return nil }
        let payloadBefore = framing.payloadBytes
        let read = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(RequestHeadRefusal) in try framing.read(bytes) }
        }
        guard let piece = take(try read.get()) else { return nil }
        return (piece, framing.payloadBytes - payloadBefore)
    }
}
