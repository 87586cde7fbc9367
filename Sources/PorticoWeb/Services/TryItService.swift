import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PorticoCatalog
import PorticoCore

/// Where the portal's try-it console sends calls: the gateway of its own process, with the signer its gateway
/// checks passes with. Without it (a control plane with no gateway beside it) the portal offers no try-it.
public struct TryItRoute: Sendable {
    public let signer: TryItPassSigner
    /// The gateway as this process reaches it (loopback), not as consumers do.
    public let gatewayURL: String

    public init(signer: TryItPassSigner, gatewayURL: String) {
        self.signer = signer
        self.gatewayURL = gatewayURL
    }
}

/// A try-it call's answer as the portal shows it.
public struct TryItOutcome: Sendable {
    public let status: Int
    public let reason: String
    public let headers: [(name: String, value: String)]
    /// Text as received (JSON pretty-printed); a body that is not text is described, not shown.
    public let body: String
    public let truncated: Bool
    public let milliseconds: Int
}

/// Sends a try-it call through the gateway as the signed-in consumer: a pass bound to them and the API stands in for
/// a credential, so the gateway's grants, plans, limits and usage records apply as to their own calls.
public struct TryItService: Sendable {
    let route: TryItRoute
    let http: HTTPClient

    /// The portal's own hop to its gateway: loopback, so a certificate the gateway presents for its public name is
    /// not checked against `127.0.0.1`; no redirects followed (the console shows them).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public static let shownBodyBytes = 64 << 10
    public static let timeout: Duration = .seconds(35)

    public init(route: TryItRoute, http: HTTPClient = Self.sharedClient) {
        self.route = route
        self.http = http
    }

    /// The pass for `user` on `api` under the auth mode now in force: in JWT mode the gateway counts a token user by
    /// their token user id, so the pass does too.
    func pass(for user: User, api: UUID, mode: AuthMode, now: Date = Date()) -> TryItPass {
        let tokenUser = mode == .jwt ? user.externalId : nil
        let consumerId = tokenUser.map { JWTPrincipal(userId: $0, email: nil, tokenName: nil, groups: []).consumerId } ?? user.id
        return TryItPass(
            userId: user.id, consumerId: consumerId, caller: tokenUser ?? user.id.headerText, apiId: api, groups: user.groups,
            expiresAt: Int64(now.timeIntervalSince1970) + TryItPass.lifetimeSeconds)
    }

    public func send(_ call: TryItCall, as user: User, api: UUID, mode: AuthMode) async throws(PorticoError) -> TryItOutcome {
        var request = HTTPClientRequest(url: route.gatewayURL + call.target)
        request.method = HTTPMethod(rawValue: call.method)
        for header in call.headers { request.headers.add(name: header.name, value: header.value) }
        request.headers.add(name: HeaderNames.porticoTryIt, value: route.signer.sign(pass(for: user, api: api, mode: mode)))
        if let body = call.body { request.body = .bytes(ByteBuffer(string: body)) }
        let started = ContinuousClock.now
        do {
            let response = try await http.execute(request, deadline: .now() + .nanoseconds(Self.timeout.nanoseconds))
            var collected = ByteBuffer()
            var truncated = false
            for try await var part in response.body {
                let room = Self.shownBodyBytes - collected.readableBytes
                if part.readableBytes > room {
                    truncated = true
                    if room > 0, let slice = part.readSlice(length: room) { collected.writeImmutableBuffer(slice) }
                    break
                }
                collected.writeBuffer(&part)
            }
            let elapsed = ContinuousClock.now - started
            return TryItOutcome(
                status: Int(response.status.code), reason: response.status.reasonPhrase,
                headers: response.headers.map { ($0.name, $0.value) },
                body: Self.shown(collected, contentType: response.headers.first(name: "content-type"), truncated: truncated),
                truncated: truncated, milliseconds: Int(elapsed.nanoseconds / 1_000_000))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw .unavailable("the gateway did not answer within \(Self.timeout.components.seconds) s")
        } catch {
            throw .unavailable("the gateway could not be reached: \(error)")
        }
    }

    /// A body as the console shows it: JSON indented, other text as it came, anything else described.
    static func shown(_ body: ByteBuffer, contentType: String?, truncated: Bool) -> String {
        let bytes = Array(body.readableBytesView)
        guard !bytes.isEmpty else { return "" }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return "(\(bytes.count)\(truncated ? "+" : "") bytes of \(contentType ?? "binary data"), not shown)"
        }
        if !truncated, contentType?.lowercased().contains("json") == true,
            let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .withoutEscapingSlashes, .fragmentsAllowed])
        {
            return String(decoding: pretty, as: UTF8.self)
        }
        return text
    }
}
