import Benchmark
import Foundation
import Logging
import PorticoCore
import PorticoGateway
import PorticoRuntime
import PorticoTestSupport

/// The gateway's per-request pieces, each alone: time and allocations per operation.
/// Run with `make bench-micro` (or `swift package benchmark --target GatewayHotPath`).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput], warmupIterations: 10, scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 100_000)

    jwtVerification()
    keyLookup()
    claimsExpression()
    rateLimitDecision()
    usageRecording()
    snapshotCompile()
    snapshotDelta()
}

private func jwtVerification() {
    let claims: [String: JSONValue] = [
        "sub": .string("user-1"), "groups": .array([.string("orders")]), "iss": .string("https://idp.example"),
        "exp": .number(Date().timeIntervalSince1970 + 86_400),
    ]
    let cases: [(String, @Sendable () throws -> TestSigningKey, (TestSigningKey) -> JWTSettings)] = [
        ("HS256", { .hmac(String(repeating: "s", count: 32)) }, { _ in settings(signingSecret: String(repeating: "s", count: 32), "HS256") }),
        ("RS256", { try .rsa("RS256") }, { settings(publicKey: $0.publicPEM, "RS256") }),
        ("PS256", { try .rsa("PS256") }, { settings(publicKey: $0.publicPEM, "PS256") }),
        ("ES256", { try .es256() }, { settings(publicKey: $0.publicPEM, "ES256") }),
        ("EdDSA", { try .ed25519() }, { settings(publicKey: $0.publicPEM, "EdDSA") }),
    ]
    for (name, makeKey, makeSettings) in cases {
        Benchmark("JWT verify \(name), full (signature, JSON, claims)", configuration: .init(scalingFactor: .one)) {
            (benchmark: Benchmark, setup: VerifySetup) async in
            // `verify` always checks the signature; only `remembered` consults the memory of verified tokens.
            for _ in benchmark.scaledIterations {
                blackHole(await setup.verifier.verify(setup.tokens[0], now: setup.now))
            }
        } setup: {
            let key = try makeKey()
            let verifier = try await makeVerifier(makeSettings(key))
            return VerifySetup(verifier: verifier, tokens: [try await key.sign(claims)], now: Date().timeIntervalSince1970)
        }
    }
    Benchmark("JWT verify RS256, seen before (verified-token memory)") { (benchmark: Benchmark, setup: VerifySetup) in
        for _ in benchmark.scaledIterations {
            blackHole(setup.verifier.remembered(setup.tokens[0], now: setup.now))
        }
    } setup: {
        let key = try TestSigningKey.rsa("RS256")
        let verifier = try await makeVerifier(settings(publicKey: key.publicPEM, "RS256"))
        let token = try await key.sign(claims)
        let now = Date().timeIntervalSince1970
        _ = await verifier.verify(token, now: now)
        return VerifySetup(verifier: verifier, tokens: [token], now: now)
    }
}

struct VerifySetup: Sendable {
    let verifier: JWTVerifier
    let tokens: [String]
    let now: Double
}

private func settings(signingSecret: String? = nil, publicKey: String? = nil, _ algorithm: String) -> JWTSettings {
    var settings = JWTSettings()
    settings.signingSecret = signingSecret.map { "env:BENCH_SECRET_\($0.count)" }
    settings.publicKey = publicKey
    settings.algorithms = [algorithm]
    settings.issuer = "https://idp.example"
    return settings
}

private func makeVerifier(_ settings: JWTSettings) async throws -> JWTVerifier {
    let resolver = SecretResolver(
        box: nil,
        environment: { name in
            name.hasPrefix("BENCH_SECRET_") ? String(repeating: "s", count: Int(name.dropFirst(13)) ?? 0) : nil
        })
    return try await JWTVerifierFactory(resolver: resolver, logger: Logger(label: "bench")).make(settings.compiled())
}

private func keyLookup() {
    Benchmark("API key lookup among 100 000 keys (SHA-256 + dictionary)") { (benchmark: Benchmark, setup: KeySetup) in
        for _ in benchmark.scaledIterations {
            blackHole(setup.snapshot.authenticate(apiKey: setup.key, nowMillis: setup.nowMillis))
        }
    } setup: {
        let policy = SyntheticPolicy(apis: 10, keys: 100_000)
        return KeySetup(snapshot: policy.compile(), key: policy.sampleKey, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
    }
}

struct KeySetup: Sendable {
    let snapshot: PolicySnapshot
    let key: String
    let nowMillis: Int64
}

private func claimsExpression() {
    Benchmark("Claims expression, 3 clauses") { (benchmark: Benchmark, setup: ExpressionSetup) in
        for _ in benchmark.scaledIterations {
            blackHole(setup.expression.evaluate(setup.claims))
        }
    } setup: {
        let expression = try ClaimsExpression("Equals(`iss`, `https://idp.example`) && Contains(`groups`, `orders`) && !Equals(`azp`, `blocked`)")
        let claims: [String: JSONValue] = [
            "iss": .string("https://idp.example"), "groups": .array([.string("billing"), .string("orders")]), "azp": .string("web"),
        ]
        return ExpressionSetup(expression: expression, claims: claims)
    }
}

private func rateLimitDecision() {
    Benchmark("Rate-limit decision (GCRA, sharded state)") { (benchmark: Benchmark, setup: LimiterSetup) in
        for index in benchmark.scaledIterations {
            blackHole(setup.limiter.decide(consumer: setup.consumers[index % setup.consumers.count], scope: setup.api, limit: setup.limit))
        }
    } setup: {
        LimiterSetup(
            limiter: RateLimiter(), consumers: (0..<1_000).map { _ in UUID() }, api: UUID(),
            limit: try RateLimit(limit: 1_000_000, periodSeconds: 1))
    }
    Benchmark("GCRA arithmetic alone") { (benchmark: Benchmark, limit: RateLimit) in
        var tat: Int64? = nil
        for index in benchmark.scaledIterations {
            let (decision, next) = GCRA.decide(tat: tat, now: Int64(index) * 1_000, limit: limit)
            tat = next
            blackHole(decision)
        }
    } setup: {
        try RateLimit(limit: 100, periodSeconds: 1)
    }
}

private func usageRecording() {
    Benchmark("API key use recorded (UsageRecorder, 16 shards)") { (benchmark: Benchmark, setup: UsageSetup) in
        for index in benchmark.scaledIterations {
            setup.usage.keyUsed(setup.keys[index % setup.keys.count])
        }
    } setup: {
        UsageSetup(usage: UsageRecorder(), keys: (0..<1_000).map { _ in UUID() })
    }
}

struct UsageSetup: Sendable {
    let usage: UsageRecorder
    let keys: [UUID]
}

struct ExpressionSetup: Sendable {
    let expression: ClaimsExpression
    let claims: [String: JSONValue]
}

struct LimiterSetup: Sendable {
    let limiter: RateLimiter
    let consumers: [UUID]
    let api: UUID
    let limit: RateLimit
}

private func snapshotCompile() {
    Benchmark(
        "Policy snapshot compile, 1 000 APIs / 100 000 keys",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 20)
    ) { (benchmark: Benchmark, policy: SyntheticPolicy) in
        for _ in benchmark.scaledIterations {
            blackHole(policy.compile())
        }
    } setup: {
        SyntheticPolicy(apis: 1_000, keys: 100_000)
    }
}

private func snapshotDelta() {
    Benchmark(
        "Policy delta applied to 1 000 000 keys: one new key and its user",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 1_000)
    ) { (benchmark: Benchmark, setup: DeltaSetup) in
        for _ in benchmark.scaledIterations {
            blackHole(setup.snapshot.applying(setup.delta))
        }
    } setup: {
        let policy = SyntheticPolicy(apis: 1, keys: 1_000_000)
        let user = ConsumerPolicy(userId: UUID(), disabled: false, groups: ["group-1"])
        let delta = PolicyDelta(
            version: 2, keys: [SecretFormat.apiKey.generate().hash: KeyGrant(keyId: UUID(), userId: user.userId, expiresAtMillis: nil)],
            consumers: [user.userId: user])
        return DeltaSetup(snapshot: policy.compile(), delta: delta)
    }
}

struct DeltaSetup: Sendable {
    let snapshot: PolicySnapshot
    let delta: PolicyDelta
}

/// Rows as the policy repository reads them: APIs, keys of consumers in a few groups, and grants.
struct SyntheticPolicy: Sendable {
    let apis: [GatewayAPI]
    let keys: [SecretHash: KeyGrant]
    let consumers: [ConsumerPolicy]
    let grants: [AccessGrant]
    let sampleKey: String

    init(apis apiCount: Int, keys keyCount: Int) {
        let upstream = (try? Upstream("http://127.0.0.1:9000")) ?? { preconditionFailure("fixed URL") }()
        let apis = (0..<apiCount).map {
            GatewayAPI(id: UUID(), name: "api-\($0)", pathPrefix: "/api-\($0)", host: nil, upstream: upstream, stripPrefix: false, status: .published)
        }
        let groups = (0..<20).map { "group-\($0)" }
        let users = (0..<max(1, keyCount / 100)).map { ConsumerPolicy(userId: UUID(), disabled: false, groups: [groups[$0 % groups.count]]) }
        consumers = users
        var keys: [SecretHash: KeyGrant] = [:]
        var sample = ""
        for index in 0..<keyCount {
            let secret = SecretFormat.apiKey.generate().secret
            if index == keyCount / 2 { sample = secret }
            keys[SecretHash(of: secret)] = KeyGrant(keyId: UUID(), userId: users[index % users.count].userId, expiresAtMillis: nil)
        }
        self.apis = apis
        self.keys = keys
        sampleKey = sample
        grants = (0..<50).map { index in
            AccessGrant(
                name: "grant-\(index)", groups: [groups[index % groups.count]],
                apiIds: index % 5 == 0 ? nil : Array(apis.shuffled().prefix(100).map(\.id)),
                rateLimit: index % 2 == 0 ? nil : try? RateLimit(limit: 100 + index, periodSeconds: 60))
        }
    }

    func compile() -> PolicySnapshot {
        PolicySnapshot(version: 1, apis: apis, keys: keys, consumers: consumers, grants: grants)
    }
}
