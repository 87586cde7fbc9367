import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore
import PorticoDemo
import PorticoGateway
import PorticoRuntime
import PorticoStore
import PorticoWeb
import Prometheus
import ServiceLifecycle

/// One Portico on a fresh database: the store, an admin with a token, and helpers to run the control
/// plane and the gateway against real sockets.
public struct TestPortico: Sendable {
    public let database: Database
    public let testDatabase: TestDatabase
    public let store: AdminStore
    public let admin: User
    public let adminToken: String
    public let policy: PolicyHolder
    public let registry: PrometheusCollectorRegistry
    /// The gateway's metrics, on `registry`, shared by the gateway and the control plane as in `portico serve`.
    public let metrics: GatewayMetrics
    /// The PORTICO_SECRET_KEY of this Portico: literal JWT secrets are sealed with it.
    public let secretBox: SecretBox
    /// The same key as `PORTICO_SECRET_KEY` holds it, for `portico` processes.
    public let secretKeyBase64: String

    public var actor: Actor { Actor(id: admin.id, label: admin.email) }

    /// The dashboard's and portal's templates.
    public let pages: PageRenderer

    /// Browsers reach the test control plane here, as far as identity providers' redirect URIs are concerned.
    public static let publicURL = "http://portico.test"

    /// `tryIt`: the gateway the portal's try-it console sends through, as in `portico serve`.
    public func controlPlane(
        sessions: SignInService.SessionPolicy = .init(), throttle: SignInThrottle = .init(delayStepSeconds: 0.05, maxDelaySeconds: 0.2),
        passwordSignIn: Bool = true, tryIt: TryItRoute? = nil, explainer: RequestExplainer? = nil
    ) throws -> some ApplicationProtocol {
        var configuration = ControlPlaneConfiguration(
            host: "127.0.0.1", port: 0, secretBox: secretBox, sessions: sessions, signInThrottle: throttle, publicURL: Self.publicURL,
            passwordSignIn: passwordSignIn)
        configuration.tryIt = tryIt
        configuration.explainer = explainer
        return try buildControlPlane(
            configuration: configuration,
            store: store, policy: policy, registry: registry, gatewayMetrics: metrics, pages: pages, logger: TestDatabase.logger)
    }

    /// Installs the current policy now (the feed does this on NOTIFY in a running process).
    public func reloadPolicy() async {
        await PolicyFeed(database: database, holder: policy).reload()
    }

    /// A consumer in `groups` (created if missing) with a fresh API key.
    public func seedConsumer(email: String = "consumer-\(UUID().uuidString.prefix(6))@example.com", groups: [String]) async throws -> (
        user: User, key: String
    ) {
        try await ensureGroups(groups)
        let user = try await UserService(store: store).create(UserInput(email: email, groups: groups), by: actor)
        let key = try await KeyService(store: store).create(for: user.id, name: "test", expiresAt: nil, by: actor)
        return (user, key.key)
    }

    /// Switches to JWT mode with `jwt` (JSON of the `jwt` settings object) through the same service the admin API uses.
    @discardableResult
    public func useJWT(_ jwt: [String: Any], claimsMapping: [String: Any]? = nil) async throws -> AuthSettingsUpdate {
        var body: [String: Any] = ["mode": "jwt", "jwt": jwt]
        if let claimsMapping { body["claimsMapping"] = claimsMapping }
        let input = try JSONDecoder().decode(AuthSettingsInput.self, from: JSONSerialization.data(withJSONObject: body))
        return try await AuthSettingsService(store: store, secretBox: secretBox).update(input, by: actor)
    }

    public func ensureGroups(_ groups: [String]) async throws {
        let groupService = GroupService(store: store)
        let existing = Set(try await groupService.list().map(\.name))
        for group in groups where !existing.contains(group) { _ = try await groupService.create(name: group, by: actor) }
    }

    @discardableResult
    public func createAPI(_ name: String, prefix: String, upstreamPort: Int, stripPrefix: Bool = false, host: String? = nil) async throws
        -> APIDefinition
    {
        try await APIService(store: store).create(
            APIInput(name: name, pathPrefix: prefix, upstream: "http://127.0.0.1:\(upstreamPort)", stripPrefix: stripPrefix, host: host), by: actor)
    }

    @discardableResult
    public func grant(_ name: String, groups: [String], apis: [String]? = nil, limit: Int? = nil, period: String = "1m") async throws -> APIAccess {
        try await ensureGroups(groups)
        return try await AccessService(store: store).create(
            AccessInput(
                name: name, groups: groups, apis: apis, allApis: apis == nil ? true : nil,
                rateLimit: limit.map { RateLimitInput(limit: $0, period: period) }),
            by: actor)
    }

    /// Runs the gateway (and its policy feed) on a free port around `body`.
    /// `tls`: the gateway terminates TLS with this certificate.
    public func withGateway<Result: Sendable>(
        timeouts: UpstreamTimeouts = .init(connect: .seconds(1), read: .seconds(2)), tls: ServerCertificate? = nil,
        tryItPasses: TryItPassSigner? = nil, accessLog: Logger? = nil, _ body: (GatewayHandle) async throws -> Result
    ) async throws -> Result {
        try await withGateways(count: 1, timeouts: timeouts, tls: tls, tryItPasses: tryItPasses, accessLog: accessLog) { try await body($0[0]) }
    }

    /// Runs `count` gateway replicas on this database, each on a free port with its own policy feed (the first on
    /// `policy`), around `body`; `rateLimitStore` says where they count rate limits. `gatewayDatabase` is how the
    /// gateways reach the database, when not as the test does (through a `TCPProxy`, say).
    public func withGateways<Result: Sendable>(
        count: Int, timeouts: UpstreamTimeouts = .init(connect: .seconds(1), read: .seconds(2)), rateLimitStore: RateLimitStore = .local,
        rateLimitSync: Duration = .milliseconds(200), gatewayDatabase: Database? = nil, tls: ServerCertificate? = nil,
        tryItPasses: TryItPassSigner? = nil, accessLog: Logger? = nil, _ body: ([GatewayHandle]) async throws -> Result
    ) async throws -> Result {
        var gateways: [(Gateway, PortReporter)] = []
        for index in 0..<count {
            let ports = PortReporter()
            var configuration = GatewayConfiguration(
                host: "127.0.0.1", port: 0, timeouts: timeouts, secretBox: secretBox, rateLimitStore: rateLimitStore, tls: tls)
            configuration.tryItPasses = tryItPasses
            configuration.accessLog = accessLog
            let gateway = Gateway(
                configuration: configuration,
                usageFlushInterval: .milliseconds(200), policyPollInterval: .seconds(5), rateLimitSync: rateLimitSync,
                policy: index == 0 ? policy : PolicyHolder(), database: gatewayDatabase ?? database, metrics: metrics, logger: TestDatabase.logger,
                onServerRunning: ports.onServerRunning)
            await gateway.feed.reload()
            gateways.append((gateway, ports))
        }
        return try await withServices(gateways.flatMap(\.0.services)) {
            var handles: [GatewayHandle] = []
            for (gateway, ports) in gateways { handles.append(GatewayHandle(port: await ports.next(), gateway: gateway)) }
            return try await body(handles)
        }
    }
}

extension TestPortico {
    /// The consumer's usage records of the last day, once they count at least `calls` (or after 10 s): the
    /// gateways write them in batches.
    public func waitForCalls(_ calls: Int64, consumer: UUID) async throws -> UsageCounts {
        let deadline = ContinuousClock.now + .seconds(10)
        var total = UsageCounts()
        while ContinuousClock.now < deadline {
            let now = Int64(Date().timeIntervalSince1970)
            let series = try await store.read { connection in
                try await UsageRepository(logger: database.logger).series(
                    consumers: [consumer], api: nil, from: now - 86_400, to: now + 3_600, bucketSeconds: 86_400 * 2, on: connection)
            }
            total = series.reduce(into: UsageCounts()) { $0.add($1.counts) }
            if total.requests >= calls { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return total
    }
}

public struct GatewayHandle: Sendable {
    public let port: Int
    public let gateway: Gateway

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func get(_ path: String, key: String? = nil, headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        try await TestHTTP.send(.GET, baseURL + path, bearer: key, headers: headers)
    }
}

/// A response with its body collected, for assertions.
public struct TestHTTPResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: Data

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json() throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
    }
}

public enum TestHTTP {
    public static func send(
        _ method: NIOHTTP1Method, _ url: String, bearer: String? = nil, headers: [(String, String)] = [], body: Data? = nil,
        timeout: TimeAmount = .seconds(30), client: HTTPClient = .shared
    ) async throws -> TestHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method.value
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 256 << 20)
        return TestHTTPResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Data(collected.readableBytesView))
    }
}

/// HTTP methods by name, to keep NIOHTTP1 out of the tests' imports. The cases are spelled as HTTP and NIO
/// spell them.
// swift-format-ignore: AlwaysUseLowerCamelCase
public enum NIOHTTP1Method: Sendable {
    case GET, POST, PUT, PATCH, DELETE, HEAD

    var value: HTTPMethod {
        switch self {
        case .GET: .GET
        case .POST: .POST
        case .PUT: .PUT
        case .PATCH: .PATCH
        case .DELETE: .DELETE
        case .HEAD: .HEAD
        }
    }
}

/// A Portico on a fresh database, with an admin and an admin token; the database is dropped after.
public func withTestPortico<Result: Sendable>(_ body: (TestPortico) async throws -> Result) async throws -> Result {
    try await withTestDatabase { database, testDatabase in
        let store = AdminStore(database: database)
        let admin = try await UserService(store: store).create(
            UserInput(email: "admin@example.com", name: "Admin", role: .admin), passwordHash: nil, by: .cli)
        let token = try await AdminTokenService(store: store).issue(forEmail: admin.email, name: "test", by: .cli)
        let secretKey = SecretBox.generateKeyBase64()
        let registry = PrometheusCollectorRegistry()
        let portico = TestPortico(
            database: database, testDatabase: testDatabase, store: store, admin: admin, adminToken: token.key,
            policy: PolicyHolder(), registry: registry, metrics: GatewayMetrics(factory: PrometheusMetricsFactory(registry: registry)),
            secretBox: SecretBox(base64: secretKey)!, secretKeyBase64: secretKey, pages: try await TestDatabase.pages())
        return try await body(portico)
    }
}

/// Runs an upstream (the echo upstream by default) on a free port around `body`.
public func withUpstream<Result: Sendable, Responder: HTTPResponder>(
    _ responder: Responder, port: Int = 0, _ body: (Int) async throws -> Result
) async throws -> Result where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    let ports = PortReporter()
    let app = Application(
        responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
        onServerRunning: ports.onServerRunning, logger: TestDatabase.logger)
    return try await withServices([app]) {
        try await body(await ports.next())
    }
}

public func withEchoUpstream<Result: Sendable>(_ body: (Int) async throws -> Result) async throws -> Result {
    try await withUpstream(EchoUpstream(), body)
}
