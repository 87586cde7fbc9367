import PorticoCore

/// A request head read in place: where each part lies in the bytes it was read from, nothing copied. The gateway
/// reads the few headers it needs through these ranges and forwards the rest as the client sent them.
package struct RequestHead: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        let name: Range<Int>
        let value: Range<Int>
    }

    enum Version: Sendable, Equatable {
        case http10
        case http11
    }

    /// How the body that follows is delimited (RFC 9112 §6.3).
    package enum Framing: Sendable, Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    let method: Range<Int>
    let target: Range<Int>
    let version: Version
    let fields: [Field]
    /// Bytes from the start of the buffer through the blank line ending the head.
    package let length: Int
    package let framing: Framing
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    let keepAlive: Bool
    let expectsContinue: Bool
    /// The client asks to switch protocols (`Upgrade`). The gateway does not relay a switch (the field is hop-by-hop)
    /// and serves the request as a plain one.
    let asksUpgrade: Bool
}

/// Why a request head is refused before anything else is decided, with the status it gets.
package enum RequestHeadRefusal: Error, Sendable, Equatable {
    case malformed(String)
    case targetTooLong
    case headTooLarge
    case unsupportedTransferCoding(String)
    case unsupportedVersion

    var status: Int {
        switch self {
        case .malformed: 400
        case .targetTooLong: 414
        case .headTooLarge: 431
        case .unsupportedTransferCoding: 501
        case .unsupportedVersion: 505
        }
    }
}

/// Reads an HTTP/1.1 request head (RFC 9112) strictly enough that no two parsers could see two different requests
/// in it: a proxy that is lenient where its upstream is strict, or the other way round, can be made to forward a
/// request it never decided on (request smuggling). Everything doubtful is refused: whitespace before a colon,
/// folded lines, a bare CR or LF, control characters, `Content-Length` beside `Transfer-Encoding`, differing
/// lengths, a transfer coding other than `chunked`.
package enum RequestHeadParser {
    static let maxTargetBytes = 8 * 1024
    static let maxHeadBytes = RequestHeadLimit.bytes

    package enum Outcome: Sendable, Equatable {
        /// More bytes are needed (and may come: the head so far is within the limit).
        case incomplete
        case head(RequestHead)
        case refused(RequestHeadRefusal)
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var reader = LineReader(bytes: bytes)
        do throws(RequestHeadRefusal) {
            // RFC 9112 §2.2: empty lines before the request line are ignored.
            var requestLine = try reader.line()
            var emptyLines = 0
            while let line = requestLine, line.isEmpty {
                emptyLines += 1
                guard emptyLines <= 8 else { throw .malformed("the request starts with empty lines") }
                requestLine = try reader.line()
            }
            guard let requestLine else { return try incomplete(reader, target: nil) }
            let (method, target, version) = try Self.requestLine(requestLine, in: bytes)
            var fields: [RequestHead.Field] = []
            while true {
                guard let line = try reader.line() else { return try incomplete(reader, target: target) }
                if line.isEmpty { break }
                fields.append(try Self.field(line, in: bytes))
                if fields.count > 1_000 { throw .headTooLarge }
            }
            guard reader.position <= maxHeadBytes else { throw .headTooLarge }
            return .head(try head(method: method, target: target, version: version, fields: fields, length: reader.position, in: bytes))
        } catch {
            return .refused(error)
        }
    }

    private static func incomplete(_ reader: LineReader, target: Range<Int>?) throws(RequestHeadRefusal) -> Outcome {
        if target == nil, reader.bytes.count > maxTargetBytes + 64 { throw .targetTooLong }
        if reader.bytes.count > maxHeadBytes { throw .headTooLarge }
        return .incomplete
    }

    /// `method SP request-target SP HTTP-version`, single spaces, as RFC 9112 §3 has it.
    private static func requestLine(
        _ line: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(RequestHeadRefusal) -> (Range<Int>, Range<Int>, RequestHead.Version) {
        guard let firstSpace = bytes[line].firstIndex(of: Byte.space) else { throw .malformed("the request line has no target") }
        let method = line.lowerBound..<firstSpace
        guard !method.isEmpty, bytes[method].allSatisfy(Byte.isToken) else { throw .malformed("the method is not a token") }
        let rest = (firstSpace + 1)..<line.upperBound
        guard let secondSpace = bytes[rest].firstIndex(of: Byte.space) else { throw .malformed("the request line has no version") }
        let target = rest.lowerBound..<secondSpace
        guard target.count <= maxTargetBytes else { throw .targetTooLong }
        guard !target.isEmpty, bytes[target].allSatisfy(Byte.isTargetCharacter) else {
            throw .malformed("the request target is empty or holds a space or control character")
        }
        let versionText = (secondSpace + 1)..<line.upperBound
        let version: RequestHead.Version
        switch Array(bytes[versionText]) {
        case Array("HTTP/1.1".utf8): version = .http11
        case Array("HTTP/1.0".utf8): version = .http10
        case let other
        where other.count == 8 && other.starts(with: "HTTP/".utf8) && Byte.isDigit(other[5]) && other[6] == Byte.dot
            && Byte.isDigit(other[7]):
            throw .unsupportedVersion
        default: throw .malformed("the HTTP version is not HTTP/1.1 or HTTP/1.0")
        }
        return (method, target, version)
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9110 §5, RFC 9112 §5): no whitespace before the colon, no folding.
    /// Response heads are held to the same rule.
    static func field(_ line: Range<Int>, in bytes: UnsafeRawBufferPointer) throws(RequestHeadRefusal) -> RequestHead.Field {
        guard let first = bytes[line].first, first != Byte.space, first != Byte.tab else {
            throw .malformed("a header line starts with whitespace (obsolete line folding)")
        }
        guard let colon = bytes[line].firstIndex(of: Byte.colon) else { throw .malformed("a header line has no colon") }
        let name = line.lowerBound..<colon
        guard !name.isEmpty else { throw .malformed("a header has an empty name") }
        guard bytes[name].allSatisfy(Byte.isToken) else { throw .malformed("a header name holds whitespace or a character not allowed") }
        var start = colon + 1
        var end = line.upperBound
        while start < end, Byte.isWhitespace(bytes[start]) { start += 1 }
        while end > start, Byte.isWhitespace(bytes[end - 1]) { end -= 1 }
        guard bytes[start..<end].allSatisfy(Byte.isFieldValueCharacter) else {
            throw .malformed("a header value holds a control character")
        }
        return RequestHead.Field(name: name, value: start..<end)
    }

    private static func head(
        method: Range<Int>, target: Range<Int>, version: RequestHead.Version, fields: [RequestHead.Field], length: Int,
        in bytes: UnsafeRawBufferPointer
    ) throws(RequestHeadRefusal) -> RequestHead {
        var framing = FramingFields()
        var hosts = 0
        var expectsContinue = false
        var asksUpgrade = false
        for field in fields {
            let name = bytes[field.name]
            let value = bytes[field.value]
            if try framing.read(name: name, value: value) { continue }
            if Byte.equalsIgnoringCase(name, "host") {
                hosts += 1
            } else if Byte.equalsIgnoringCase(name, "expect") {
                if Byte.equalsIgnoringCase(value, "100-continue") { expectsContinue = true }
            } else if Byte.equalsIgnoringCase(name, "upgrade") {
                asksUpgrade = true
            }
        }
        let (lengths, codings, transferEncoding) = (framing.lengths, framing.codings, framing.transferEncoding)
        let (close, keepAliveToken) = (framing.close, framing.keepAliveToken)
        if version == .http11, hosts != 1 {
            throw .malformed(hosts == 0 ? "the request has no Host header" : "the request has several Host headers")
        }
        let bodyFraming: RequestHead.Framing
        if transferEncoding {
            guard lengths.isEmpty else { throw .malformed("the request has both Content-Length and Transfer-Encoding") }
            guard version == .http11 else { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
            guard let last = codings.last, Byte.equalsIgnoringCase(last, "chunked") else {
                throw .malformed("the last transfer coding is not chunked")
            }
            guard codings.count == 1 else {
                let other = codings.first { !Byte.equalsIgnoringCase($0, "chunked") }.map { String(decoding: $0, as: UTF8.self) }
                throw other.map { .unsupportedTransferCoding($0) } ?? .malformed("chunked is applied more than once")
            }
            bodyFraming = .chunked
        } else if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }) else { throw .malformed("the request has differing Content-Length values") }
            bodyFraming = first == 0 ? .none : .contentLength(first)
        } else {
            bodyFraming = .none
        }
        let keepAlive = version == .http11 ? !close : (keepAliveToken && !close)
        return RequestHead(
            method: method, target: target, version: version, fields: fields, length: length, framing: bodyFraming, keepAlive: keepAlive,
            expectsContinue: expectsContinue, asksUpgrade: asksUpgrade)
    }
}

/// The fields that say how a message is framed and whether its connection persists, gathered from a head's field
/// lines by the request and the response parsers alike.
struct FramingFields {
    var lengths: [Int] = []
    /// The transfer codings named, in order, empty list items left out.
    var codings: [ArraySlice<UInt8>] = []
    var transferEncoding = false
    var close = false
    var keepAliveToken = false

    /// Takes `name: value` if it is one of these fields; false for any other.
    mutating func read(name: some Collection<UInt8>, value: some Collection<UInt8>) throws(RequestHeadRefusal) -> Bool {
        if Byte.equalsIgnoringCase(name, "content-length") {
            lengths += try Byte.contentLengths(value)
        } else if Byte.equalsIgnoringCase(name, "transfer-encoding") {
            transferEncoding = true
            codings.append(contentsOf: Byte.listItems(value).filter { !$0.isEmpty })
        } else if Byte.equalsIgnoringCase(name, "connection") {
            for item in Byte.listItems(value) {
                if Byte.equalsIgnoringCase(item, "close") { close = true }
                if Byte.equalsIgnoringCase(item, "keep-alive") { keepAliveToken = true }
            }
        } else {
            return false
        }
        return true
    }
}

/// Lines ended by CRLF, and nothing else: a CR not followed by LF, or an LF alone, is refused (RFC 9112 §2.2 lets
/// a recipient choose; a proxy that accepts what its upstream would split differently is open to smuggling).
struct LineReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// The next line without its CRLF; nil when the bytes end before one does.
    mutating func line() throws(RequestHeadRefusal) -> Range<Int>? {
        var index = position
        while index < bytes.count {
            switch bytes[index] {
            case Byte.cr:
                guard index + 1 < bytes.count else { return nil }
                guard bytes[index + 1] == Byte.lf else { throw .malformed("a bare CR in the request head") }
                let line = position..<index
                position = index + 2
                return line
            case Byte.lf:
                throw .malformed("a line ends with LF alone")
            case 0:
                throw .malformed("a NUL byte in the request head")
            default:
                index += 1
            }
        }
        return nil
    }
}

/// The byte classes of RFC 9110 §5.6 that the parsers use.
enum Byte {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let comma: UInt8 = 0x2C
    static let dot: UInt8 = 0x2E
    static let quote: UInt8 = 0x22
    static let zero: UInt8 = 0x30

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    static func isToken(_ byte: UInt8) -> Bool { HeaderNameRules.isTokenByte(byte) }

    /// Visible characters; a target never holds whitespace or controls.
    static func isTargetCharacter(_ byte: UInt8) -> Bool { byte > 0x20 && byte != 0x7F }

    /// `field-vchar`, space and tab (obs-text included, as senders still use it).
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool { byte == tab || (byte >= 0x20 && byte != 0x7F) }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    static func hexValue(_ byte: UInt8) -> Int {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        default: Int(byte - 0x61 + 10)
        }
    }

    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        return text.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { lowercased($0) == $1 }
        }
    }

    /// `equalsIgnoringCase` for a name known only at run time (a setting's header name).
    static func equalsName(_ bytes: some Collection<UInt8>, _ name: String) -> Bool {
        let expected = name.utf8
        guard bytes.count == expected.count else { return false }
        return zip(bytes, expected).allSatisfy { lowercased($0) == lowercased($1) }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// A `Content-Length` value's lengths: one, or a list of them (which must then agree, checked by the caller).
    static func contentLengths(_ value: some Collection<UInt8>) throws(RequestHeadRefusal) -> [Int] {
        var lengths: [Int] = []
        for item in listItems(value) {
            guard !item.isEmpty, item.count <= 18, item.allSatisfy(isDigit) else { throw .malformed("Content-Length is not a number") }
            lengths.append(item.reduce(0) { $0 * 10 + Int($1 - zero) })
        }
        return lengths
    }

    /// The items of a comma-separated list (RFC 9110 §5.6.1), each trimmed of whitespace; empty items kept.
    static func listItems(_ value: some Collection<UInt8>) -> [ArraySlice<UInt8>] {
        Array(value).split(separator: comma, omittingEmptySubsequences: false).map { item in
            var slice = item[...]
            while let first = slice.first, isWhitespace(first) { slice = slice.dropFirst() }
            while let last = slice.last, isWhitespace(last) { slice = slice.dropLast() }
            return slice
        }
    }
}
