import Foundation
import Logging
import Metrics
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PorticoCore
import PorticoGateway

/// Client bytes through a gateway connection's own pipeline, on an embedded channel: the HTTP/1 decoder with the
/// gateway's limits, then the connection handler deciding against a small API-key policy. The policy's one key is
/// made anew in each process and so is never in a corpus: every request ends in an answer of the gateway's own
/// (400, 401, 404, 413, 431 …) and none goes looking for an upstream, which an embedded loop has no sockets for.
/// Each head the decoder reads is also turned into the head the gateway would send upstream.
final class RequestHeadFuzzing: @unchecked Sendable {
    static let shared: RequestHeadFuzzing = {
        do { return try RequestHeadFuzzing() } catch { fatalError("the fuzzing policy does not build: \(error)") }
    }()

    private let loop = EmbeddedEventLoop()
    private let server: GatewayServer
    private let api: GatewayAPI
    private let changes: UpstreamRequestChanges

    private init() throws {
        let upstream = try Upstream("http://127.0.0.1:9")
        let userId = UUID()
        let apis = [
            GatewayAPI(id: UUID(), name: "orders", pathPrefix: "/orders", host: nil, upstream: upstream, stripPrefix: true, status: .published),
            GatewayAPI(
                id: UUID(), name: "uploads", pathPrefix: "/uploads", host: "uploads.example", upstream: upstream, stripPrefix: false,
                status: .deprecated, maxBodyBytes: 16),
        ]
        let key = SecretFormat.apiKey.generate()
        let snapshot = PolicySnapshot(
            version: 1, apis: apis, keys: [key.hash: KeyGrant(keyId: UUID(), userId: userId, expiresAtMillis: nil)],
            consumers: [ConsumerPolicy(userId: userId, disabled: false, groups: ["orders"])],
            grants: [AccessGrant(name: "orders", groups: ["orders"], apiIds: apis.map(\.id), rateLimit: nil)])
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        server = GatewayServer(
            configuration: GatewayConfiguration(port: 0), policy: PolicyHolder(snapshot), usage: DiscardingUsage(),
            metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance), logger: logger)
        api = apis[0]
        var changes = UpstreamRequestChanges()
        changes.removesAuthorization = true
        changes.removedHeaders = ["x-api-key"]
        changes.removedCookie = "portico_session"
        changes.addedHeaders = [("X-Portico-User", userId.uuidString), ("X-Portico-Groups", "orders")]
        self.changes = changes
    }

    func run(_ input: UnsafeRawBufferPointer) {
        let bytes = ByteBuffer(bytes: input)
        throughGateway(bytes)
        upstreamHeads(bytes)
        asAnAnswer(bytes)
    }

    private func throughGateway(_ bytes: ByteBuffer) {
        let channel = EmbeddedChannel(loop: loop)
        defer {
            _ = try? channel.finish()
            loop.run()
        }
        guard (try? server.configureConnection(channel)) != nil else { return }
        _ = try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        _ = try? channel.writeInbound(bytes)
        loop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
        _ = try? channel.writeInbound(ByteBuffer())
        channel.pipeline.fireChannelInactive()
        loop.run()
    }

    /// Every request the stream reads in the bytes, turned into the head the gateway would send upstream; that head
    /// must read back as a request head itself, with the same method and a target on the upstream's path.
    private func upstreamHeads(_ bytes: ByteBuffer) {
        var stream = RequestStream()
        stream.append(bytes)
        while case .some(let message) = try? stream.next() {
            guard case .head(let head, let headBytes) = message else { continue }
            let request = GatewayRequest(bytes: headBytes, head: head, clientAddress: "127.0.0.1")
            let upstream = UpstreamRequest.head(for: request, api: api, changes: changes)
            guard let again = GatewayRequest.parsing(upstream, clientAddress: nil) else {
                fatalError("the upstream head does not parse: \(String(buffer: upstream))")
            }
            guard again.method == request.method else { fatalError("the method changed on the way upstream") }
        }
    }

    /// The same bytes as an upstream's answer, to a GET and to a HEAD.
    private func asAnAnswer(_ bytes: ByteBuffer) {
        for answersHead in [false, true] {
            var stream = ResponseStream()
            stream.expectAnswer(toHead: answersHead)
            stream.append(bytes)
            while case .some(let message) = try? stream.next() {
                guard case .head(let head, let headBytes) = message else { continue }
                _ = UpstreamRequest.responseHead(head, bytes: headBytes, adding: ["X-RateLimit-Limit": "10"], closing: false)
            }
            _ = stream.closed()
        }
    }
}

/// Usage that the fuzzer has no use for.
struct DiscardingUsage: UsageSink {
    func keyUsed(_ keyId: UUID) {}
    func tokenUserSeen(_ sighting: UserSighting) {}
    func callAnswered(_ call: AnsweredCall) {}
    func refused(_ refusal: Refusal) {}
}
