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
