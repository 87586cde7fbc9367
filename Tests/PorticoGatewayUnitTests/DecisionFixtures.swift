import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore
import PorticoTestSupport
import Synchronization
import Testing

@testable import PorticoGateway

/// A sink that keeps what the data plane reported, for assertions.
final class RecordingSink: UsageSink {
    private let state = Mutex<(keys: [UUID], sightings: [UserSighting], refusals: [Refusal])>(([], [], []))

    func keyUsed(_ keyId: UUID) { state.withLock { $0.keys.append(keyId) } }
    func tokenUserSeen(_ sighting: UserSighting) { state.withLock { $0.sightings.append(sighting) } }
    func callAnswered(_ call: AnsweredCall) {}
    func refused(_ refusal: Refusal) { state.withLock { $0.refusals.append(refusal) } }

    var keys: [UUID] { state.withLock { $0.keys } }
    var sightings: [UserSighting] { state.withLock { $0.sightings } }
    var refusals: [Refusal] { state.withLock { $0.refusals } }
}

/// A hand-built policy: one consumer with one key in group `orders`, and APIs granted to that group.
struct DecisionFixture {
    static let secret = String(repeating: "k", count: 32)
    static let issuer = "https://idp.unit.example"

    let userId = UUID()
    let keyId = UUID()
    let applicationId = UUID()
    let key = SecretFormat.apiKey.generate()
    let orders: GatewayAPI
    let legacy: GatewayAPI
    let closed: GatewayAPI
    let sink = RecordingSink()
    /// The signer of the portal beside the fixture's gateway.
    let passes = TryItPassSigner.random()

    init() throws {
        let upstream = try Upstream("http://127.0.0.1:9")
        orders = GatewayAPI(
            id: UUID(), name: "orders", pathPrefix: "/orders", host: nil, upstream: upstream, stripPrefix: true, status: .published)
        legacy = GatewayAPI(
            id: UUID(), name: "legacy", pathPrefix: "/legacy", host: nil, upstream: upstream, stripPrefix: false, status: .deprecated)
        closed = GatewayAPI(
            id: UUID(), name: "closed", pathPrefix: "/closed", host: nil, upstream: upstream, stripPrefix: false, status: .published)
    }

    /// `limit` rate-limits the orders grant and `plan` puts it on a plan; `jwt` switches the snapshot to JWT mode with these settings, as do
    /// `providers` (trusted identity providers' issuers), alone or beside them. `ordersIssuers` narrows the orders API
    /// to those providers' tokens.
    func snapshot(
        limit: RateLimit? = nil, plan: CompiledPlan? = nil, disabled: Bool = false, jwt: JWTSettings? = nil, providers: [String] = [],
        ordersIssuers: [String]? = nil, ordersFilter: OperationFilter? = nil,
        disabledExternalIds: Set<String> = [], keyExpiresAtMillis: Int64? = nil, keyScopes: [UUID]? = nil, otherKeys: [SecretHash: KeyGrant] = [:]
    ) throws -> PolicySnapshot {
        let mode: AuthMode = jwt == nil && providers.isEmpty ? .apiKey : .jwt
        let auth = try AuthSettings(mode: mode, jwt: jwt).compiled()
        let orders = GatewayAPI(
            id: orders.id, name: orders.name, pathPrefix: orders.pathPrefix, host: nil, upstream: orders.upstream, stripPrefix: true,
            status: .published, tokenIssuers: ordersIssuers)
        return PolicySnapshot(
            version: 7, apis: [orders, legacy, closed],
            keys: [
                key.hash: KeyGrant(keyId: keyId, userId: userId, expiresAtMillis: keyExpiresAtMillis, applicationId: applicationId, scopes: keyScopes)
            ]
            .merging(otherKeys) { first, _ in first },
            consumers: [ConsumerPolicy(userId: userId, disabled: disabled, groups: ["orders"])],
            grants: [
                AccessGrant(name: "orders", groups: ["orders"], apiIds: [orders.id], rateLimit: limit, plan: plan, operationFilter: ordersFilter),
                AccessGrant(name: "legacy", groups: ["orders", "guests"], apiIds: [legacy.id], rateLimit: nil),
            ],
            auth: auth, authVersion: mode == .apiKey ? 0 : 1, disabledExternalIds: disabledExternalIds,
            trustedIssuers: try providers.map { issuer in try Self.trusted(issuer, handling: auth.jwt ?? .trustedProvidersOnly) })
    }

    /// A trusted provider of `issuer`, named after its host, whose keys would be fetched from an unreachable port.
    static func trusted(_ issuer: String, handling: JWTConfig) throws -> TrustedIssuer {
        var settings = IdentityProviderSettings(name: URL(string: issuer)?.host?.replacingOccurrences(of: ".", with: "-") ?? "idp", issuer: issuer)
        settings.clientId = "portico"
        settings.acceptTokens = true
        let metadata = ProviderMetadata(
            issuer: issuer, authorizationEndpoint: issuer + "/authorize", tokenEndpoint: issuer + "/token", jwksURI: "http://127.0.0.1:9/jwks",
            userinfoEndpoint: nil, endSessionEndpoint: nil, signingAlgorithms: ["RS256"], tokenEndpointAuthMethod: "client_secret_basic",
            issuerInAuthorizationResponse: false, codeChallengeMethods: ["S256"])
        return TrustedIssuer(provider: try settings.compiled(), metadata: metadata, handling: handling)
    }

    /// JWT settings verifying HS256 tokens signed with `secret` (read from a stand-in environment).
    static func jwtSettings(configure: (inout JWTSettings) -> Void = { _ in }) -> JWTSettings {
        var settings = JWTSettings()
        settings.signingSecret = "env:UNIT_SECRET"
        settings.algorithms = ["HS256"]
        settings.issuer = issuer
        configure(&settings)
        return settings
    }

    var tryIt: TryItAdmission { TryItAdmission(signer: passes) }

    func decider(
        _ snapshot: PolicySnapshot, rateLimitHeaders: RateLimitHeaderStyle = .both, limiter: RateLimiter = RateLimiter(),
        quotas: QuotaCounter = QuotaCounter()
    ) -> GatewayDecider {
        let resolver = SecretResolver(box: nil, environment: { $0 == "UNIT_SECRET" ? Self.secret : nil })
        let factory = JWTVerifierFactory(resolver: resolver, logger: Logger(label: "unit"))
        return GatewayDecider(
            policy: PolicyHolder(loaded: snapshot), limiter: limiter, quotas: quotas, keys: KeyAdmission(usage: sink, passes: tryIt),
            tokens: TokenAdmission(
                verifiers: JWTVerifierCache(factory: factory), passes: tryIt, issuers: IssuerVerifiers(factory: factory), usage: sink),
            oidc: nil, rateLimitHeaders: rateLimitHeaders, logger: Logger(label: "unit"))
    }

    /// A token for `subject` in `groups`, valid for an hour, with any further claims.
    static func token(
        subject: String = "ada", groups: [String] = ["orders"], issuer: String = issuer, extra: [String: JSONValue] = [:]
    ) async throws -> String {
        var claims: [String: JSONValue] = [
            "sub": .string(subject), "groups": .array(groups.map(JSONValue.string)), "iss": .string(issuer),
            "exp": .number(Date().timeIntervalSince1970 + 3600), "email": .string("\(subject)@example.com"),
        ]
        claims.merge(extra) { $1 }
        return try await TestSigningKey.hmac(secret).sign(claims)
    }
}

extension PolicyHolder {
    /// A holder with `snapshot` installed, as after the first load from the database.
    convenience init(loaded snapshot: PolicySnapshot) {
        self.init()
        install(snapshot)
    }
}

func request(_ uri: String, headers: [(String, String)] = []) -> GatewayRequest {
    request(.GET, uri, headers: headers)
}

/// A request from 192.0.2.7 to `gateway.example`, with its request id as the connection handler gives it.
func request(_ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], client: String? = "192.0.2.7") -> GatewayRequest {
    var text = "\(method.rawValue) \(uri) HTTP/1.1\r\nHost: gateway.example\r\n"
    for (name, value) in headers { text += "\(name): \(value)\r\n" }
    text += "\r\n"
    guard var request = GatewayRequest.parsing(ByteBuffer(string: text), clientAddress: client) else {
        fatalError("the fixture's request does not parse: \(text)")
    }
    var ids = RequestIDGenerator()
    request.assignRequestId(&ids)
    return request
}

/// A head the gateway wrote, read back: what the upstream sees.
struct SentHead {
    let method: String
    let uri: String
    let headers: HTTPHeaders
}

extension ByteBuffer {
    /// These bytes read as a request head, as an upstream would read them.
    var sent: SentHead {
        guard let request = GatewayRequest.parsing(self, clientAddress: nil) else {
            Issue.record("the gateway wrote a head that does not parse: \(String(buffer: self))")
            return SentHead(method: "", uri: "", headers: [:])
        }
        let headers = withUnsafeReadableBytes { raw in
            HTTPHeaders(
                request.parsed.fields.map { (String(decoding: raw[$0.name], as: UTF8.self), String(decoding: raw[$0.value], as: UTF8.self)) })
        }
        return SentHead(method: request.method, uri: request.target, headers: headers)
    }
}

/// The decision once whatever it waited for (a verifier build, a first verification) is done.
func settled(_ decision: GatewayDecision) async -> GatewayDecision {
    if case .later(let next) = decision { return await settled(await next()) }
    return decision
}

/// The gateway's own answer, or a recorded issue when the request was forwarded instead.
func answer(_ decision: GatewayDecision, sourceLocation: SourceLocation = #_sourceLocation) -> GatewayAnswer? {
    guard case .answer(let answer, _, _) = decision else {
        Issue.record("expected an answer, got \(decision)", sourceLocation: sourceLocation)
        return nil
    }
    return answer
}

/// The forward plan, or a recorded issue when the gateway answered itself.
func plan(_ decision: GatewayDecision, sourceLocation: SourceLocation = #_sourceLocation) -> ForwardPlan? {
    guard case .forward(let plan) = decision else {
        if case .answer(let answer, _, _) = decision {
            Issue.record("expected a forward, got \(answer.status): \(String(buffer: answer.body))", sourceLocation: sourceLocation)
        } else {
            Issue.record("expected a forward, got \(decision)", sourceLocation: sourceLocation)
        }
        return nil
    }
    return plan
}

extension GatewayAnswer {
    /// The `error` code of the JSON body.
    var code: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["error"] as? String
    }
}
