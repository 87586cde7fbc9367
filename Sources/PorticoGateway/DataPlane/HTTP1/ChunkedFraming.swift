/// Follows a chunked body (RFC 9112 §7.1) as its bytes go by, to know where it ends, without decoding it: the
/// gateway relays the chunks as they came. Sizes, extensions and trailer lines are checked as strictly as the
/// head is, since a body whose end two parsers see in different places smuggles the request after it.
package struct ChunkedFraming: Sendable {
    /// A chunk-size line (with its extensions) or a trailer line longer than this is refused.
    static let maxLineBytes = 4 * 1024
    /// All trailer lines together.
    static let maxTrailerBytes = 16 * 1024
    /// 15 hex digits: a chunk under 2⁶⁰ bytes, far past anything real, and no overflow.
    static let maxSizeDigits = 15

    private enum State: Sendable {
        case sizeLine
        case data(remaining: Int)
        case dataEnd
        case trailer
        case done
    }

    private var state = State.sizeLine
    private var line: [UInt8] = []
    private var trailerBytes = 0
    /// The chunks' data so far, without their framing: what a body limit counts.
    package private(set) var payloadBytes = 0

    package init() {}

    package var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Reads `bytes` as the body's next bytes; returns how many of them belong to it (fewer than all only when the
    /// body ends inside them: the rest is the next request).
    package mutating func read(_ bytes: UnsafeRawBufferPointer) throws(RequestHeadRefusal) -> Int {
        var index = 0
        while index < bytes.count {
            switch state {
            case .done:
                return index
            case .data(let remaining):
                let taken = min(remaining, bytes.count - index)
                index += taken
                payloadBytes += taken
                state = taken == remaining ? .dataEnd : .data(remaining: remaining - taken)
            case .sizeLine, .dataEnd, .trailer:
                let byte = bytes[index]
                index += 1
                if byte == Byte.lf {
                    guard line.last == Byte.cr else { throw .malformed("a line of the chunked body ends with LF alone") }
                    line.removeLast()
                    try endLine()
                    line.removeAll(keepingCapacity: true)
                } else {
                    guard line.last != Byte.cr else { throw .malformed("a bare CR in the chunked body") }
                    guard byte != 0 else { throw .malformed("a NUL byte in a chunk-size or trailer line") }
                    line.append(byte)
                    guard line.count <= Self.maxLineBytes else { throw .malformed("a chunk-size or trailer line is too long") }
                }
            }
        }
        return index
    }

    private mutating func endLine() throws(RequestHeadRefusal) {
        switch state {
        case .sizeLine:
            let size = try Self.chunkSize(line)
            state = size == 0 ? .trailer : .data(remaining: size)
        case .dataEnd:
            guard line.isEmpty else { throw .malformed("a chunk is longer than its size") }
            state = .sizeLine
        case .trailer:
            if line.isEmpty {
                state = .done
                return
            }
            trailerBytes += line.count + 2
            guard trailerBytes <= Self.maxTrailerBytes else { throw .malformed("the chunked body's trailer is too large") }
            try Self.checkTrailer(line)
        case .data, .done:
            break
        }
    }

    /// `chunk-size [ chunk-ext ]`, where `chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )`.
    static func chunkSize(_ line: [UInt8]) throws(RequestHeadRefusal) -> Int {
        let digits = line.prefix(while: Byte.isHexDigit)
        guard !digits.isEmpty else { throw .malformed("a chunk size is not a hexadecimal number") }
        let significant = digits.drop(while: { $0 == Byte.zero })
        guard significant.count <= maxSizeDigits else { throw .malformed("a chunk size is too large") }
        let size = significant.reduce(0) { $0 << 4 | Byte.hexValue($1) }
        try checkExtensions(line[digits.endIndex...])
        return size
    }

    private static func checkExtensions(_ rest: ArraySlice<UInt8>) throws(RequestHeadRefusal) {
        var rest = rest
        func skipWhitespace() { while let first = rest.first, Byte.isWhitespace(first) { rest = rest.dropFirst() } }
        func token() -> ArraySlice<UInt8> {
            let token = rest.prefix(while: Byte.isToken)
            rest = rest.dropFirst(token.count)
            return token
        }
        while true {
            skipWhitespace()
            guard let next = rest.first else { return }
            guard next == Byte.semicolon else { throw .malformed("a chunk size is followed by something other than an extension") }
            rest = rest.dropFirst()
            skipWhitespace()
            guard !token().isEmpty else { throw .malformed("a chunk extension has no name") }
            skipWhitespace()
            guard rest.first == Byte.equals else { continue }
            rest = rest.dropFirst()
            skipWhitespace()
            if rest.first == Byte.quote {
                try quotedString(&rest)
            } else if token().isEmpty {
                throw .malformed("a chunk extension has an empty value")
            }
        }
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE` (RFC 9110 §5.6.4), consumed from the front of `rest`.
    private static func quotedString(_ rest: inout ArraySlice<UInt8>) throws(RequestHeadRefusal) {
        rest = rest.dropFirst()
        while let byte = rest.first {
            rest = rest.dropFirst()
            switch byte {
            case Byte.quote: return
            case UInt8(ascii: "\\"):
                guard let escaped = rest.first, Byte.isFieldValueCharacter(escaped) else { throw .malformed("a bad escape in a chunk extension") }
                rest = rest.dropFirst()
            default:
                guard Byte.isFieldValueCharacter(byte) else { throw .malformed("a control character in a chunk extension") }
            }
        }
        throw .malformed("a quoted chunk extension value is not closed")
    }

    /// A trailer field line, held to the same rules as a header line.
    private static func checkTrailer(_ line: [UInt8]) throws(RequestHeadRefusal) {
        guard let first = line.first, !Byte.isWhitespace(first) else { throw .malformed("a trailer line starts with whitespace") }
        guard let colon = line.firstIndex(of: Byte.colon), colon > 0, line[..<colon].allSatisfy(Byte.isToken) else {
            throw .malformed("a trailer line is not a field")
        }
        guard line[(colon + 1)...].allSatisfy(Byte.isFieldValueCharacter) else { throw .malformed("a trailer value holds a control character") }
    }
}
