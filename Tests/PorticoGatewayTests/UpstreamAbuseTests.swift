import Foundation
import NIOCore
import NIOPosix
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Upstreams that refuse connections, reset them in the middle of their answer's head, or never answer, for 60 s
/// of load through a real `portico gateway`: each call is a 502 or a 504 (never a hang), and afterwards the
/// process's open descriptors and resident memory are back within 10 % of where they were.
@Suite struct UpstreamAbuseTests {
    static let abuseSeconds = Int(ProcessInfo.processInfo.environment["PORTICO_ABUSE_SECONDS"] ?? "") ?? 60

    @Test(.timeLimit(.minutes(4))) func refusingResettingAndSilentUpstreamsLeakNothing() async throws {
        let misbehaving = try await MisbehavingUpstream.start()
        defer { misbehaving.stop() }
        try await withTestPortico { portico in
            let closedPort = try freeLoopbackPort()
            try await portico.createAPI("refused", prefix: "/refused", upstreamPort: closedPort)
            try await portico.createAPI("reset", prefix: "/reset", upstreamPort: misbehaving.port)
            try await portico.createAPI("silent", prefix: "/silent", upstreamPort: misbehaving.port)
            try await portico.grant("buyers", groups: ["buyers"])
            let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
            let gateway = try await GatewayProcess(
                databaseURL: portico.testDatabase.url.connectionString, extraArguments: ["--upstream-timeout", "1", "--log-level", "error"])
            defer { gateway.terminate() }

            let expected = ["/refused": [502], "/reset": [502], "/silent": [504]]
            _ = try await Self.abuse(gateway, key: key, for: .seconds(5), expected: expected)
            try await Task.sleep(for: .seconds(1))
            let (descriptors, resident) = (gateway.openDescriptors, gateway.residentKiB)

            let calls = try await Self.abuse(gateway, key: key, for: .seconds(Self.abuseSeconds), expected: expected)
            try await Task.sleep(for: .seconds(2))
            let (descriptorsAfter, residentAfter) = (gateway.openDescriptors, gateway.residentKiB)
            print("upstream abuse: \(calls) calls; descriptors \(descriptors) → \(descriptorsAfter), RSS \(resident) → \(residentAfter) KiB")
            #expect(calls > Self.abuseSeconds * 10)
            #expect(Double(descriptorsAfter) <= Double(descriptors) * 1.1 + 1, "descriptors \(descriptors) → \(descriptorsAfter)")
            #expect(Double(residentAfter) <= Double(resident) * 1.1, "RSS \(resident) → \(residentAfter) KiB")
            #expect(gateway.isRunning)
        }
    }

    /// Six clients round the three APIs for `duration`; every answer must be one of the path's expected statuses,
    /// within the upstream timeout and a margin.
    static func abuse(_ gateway: GatewayProcess, key: String, for duration: Duration, expected: [String: [Int]]) async throws -> Int {
        let paths = expected.keys.sorted()
        let until = ContinuousClock.now + duration
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<6 {
                group.addTask {
                    var calls = 0
                    while ContinuousClock.now < until {
                        let path = paths[(lane + calls) % paths.count]
                        let started = ContinuousClock.now
                        let answer = try await TestHTTP.send(.GET, gateway.baseURL + path, bearer: key, timeout: .seconds(10))
                        #expect(expected[path]?.contains(answer.status) == true, "\(path): \(answer.status) \(answer.text.prefix(200))")
                        #expect(ContinuousClock.now - started < .seconds(5), "\(path) took \(ContinuousClock.now - started)")
                        calls += 1
                    }
                    return calls
                }
            }
            return try await group.reduce(0, +)
        }
    }
}

/// An upstream that misbehaves by path: `/reset…` gets half a response head and then a TCP reset, `/silent…`
/// is read and never answered.
final class MisbehavingUpstream: Sendable {
    let port: Int
    private let channel: any Channel

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    static func start() async throws -> MisbehavingUpstream {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Misbehaviour()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return MisbehavingUpstream(channel: channel, port: channel.localAddress?.port ?? 0)
    }

    func stop() { channel.close(promise: nil) }

    private final class Misbehaviour: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            guard received.contains("\r\n\r\n") else { return }
            if received.hasPrefix("GET /reset") {
                context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-")), promise: nil)
                // A linger of zero makes the close a reset.
                let channel = context.channel
                if let socket = channel as? any SocketOptionProvider {
                    socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            }
            received = ""
        }
    }
}
