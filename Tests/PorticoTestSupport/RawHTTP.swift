import Foundation
import NIOCore
import NIOPosix

/// Bytes over one TCP connection, for what an HTTP client library would tidy away: pipelining, malformed
/// requests, a connection the server closes.
public enum RawHTTP {
    /// Writes `request` as it is, then reads until the server closes the connection (or `timeout` passes).
    public static func exchange(port: Int, _ request: String, timeout: Duration = .seconds(5)) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: request))
                    var received = ""
                    for try await buffer in inbound { received += String(buffer: buffer) }
                    return received
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let received = first else {
                channel.channel.close(promise: nil)
                throw RawHTTPTimeout()
            }
            return received
        }
    }

    /// The responses in `text`, each as its status line, header lines and body (bodies sized by Content-Length).
    public static func responses(in text: String) -> [(status: String, headers: [String], body: String)] {
        var rest = Substring(text)
        var found: [(String, [String], String)] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            rest = rest[end.upperBound...]
            let length =
                lines.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = String(rest.prefix(length))
            rest = rest.dropFirst(length)
            found.append((lines.first ?? "", Array(lines.dropFirst()), body))
        }
        return found
    }
}

public struct RawHTTPTimeout: Error {}

/// A blocking loopback connection for tests of what a server does with it: one exchange, then whether (and when)
/// the server closes it.
public final class RawConnection: @unchecked Sendable {
    private let fd: Int32

    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    /// Sends `request` and reads until a whole answer with a `Content-Length` body has arrived.
    public func exchange(_ request: String) throws -> String {
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        setTimeout(.seconds(5))
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[..<count]
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { return text }
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the server closes the connection (a read sees its end) within `timeout`.
    public func waitForClose(timeout: Duration) -> Bool {
        setTimeout(timeout)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    private func setTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }
}
