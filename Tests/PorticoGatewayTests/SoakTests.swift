import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Synchronization
import Testing

@testable import PorticoGateway

/// Five minutes (`PORTICO_SOAK_SECONDS`) of mixed load through a real `portico gateway`: API keys and JWTs (the
/// auth mode switches every 30 s, so both run and the policy is rebuilt under load), 429s from a tight grant,
/// 404s, uploads under and over an API's body limit. The resident memory is sampled every 10 s. It swings with the
/// mode: a key phase after a JWT phase needs room that the token memory's entries now take, so the arenas grow
/// until the next JWT phase's new verifier drops the old memory. So the first two minutes (two phases of each
/// mode) set the peak, and no later sample may pass it by more than the verified-token memory can hold; the
/// slope after the first minute is reported and bounded too.
@Suite struct SoakTests {
    static let seconds = Int(ProcessInfo.processInfo.environment["PORTICO_SOAK_SECONDS"] ?? "") ?? 300
    static let phase = Duration.seconds(30)
    static let secret = "a soak test signing secret of 32+ bytes"
    /// More distinct tokens than the verified-token memory holds (10 000), so it fills up and starts over.
    static let tokenCount = 12_000

    @Test(.timeLimit(.minutes(10))) func mixedLoadForFiveMinutesKeepsMemoryBounded() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.createAPI("tight", prefix: "/tight", upstreamPort: upstream)
                let uploads = try await portico.createAPI("uploads", prefix: "/uploads", upstreamPort: upstream)
                _ = try await APIService(store: portico.store).update(uploads.id, APIPatch(maxBodyBytes: .some(64 * 1024)), by: portico.actor)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders", "uploads"])
                try await portico.grant("tight", groups: ["buyers"], apis: ["tight"], limit: 5)
                var keys: [String] = []
                for _ in 0..<20 { keys.append(try await portico.seedConsumer(groups: ["buyers"]).key) }
                let signer = TestSigningKey.hmac(Self.secret)
                var tokens: [String] = []
                tokens.reserveCapacity(Self.tokenCount)
                for index in 0..<Self.tokenCount {
                    tokens.append(try await signer.sign(testClaims(sub: "soak-\(index % 500)", extra: ["jti": .string("\(index)")])))
                }

                // The signing secret is stored sealed: the gateway needs the key that unseals it.
                let gateway = try await GatewayProcess(
                    databaseURL: portico.testDatabase.url.connectionString, extraArguments: ["--log-level", "error"],
                    environment: ["PORTICO_SECRET_KEY": portico.secretKeyBase64])
                defer { gateway.terminate() }
                let load = SoakLoad(gateway: gateway, keys: keys, tokens: tokens)
                var samples: [(seconds: Double, kib: Int)] = []
                let started = ContinuousClock.now
                let end = started + .seconds(Self.seconds)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for lane in 0..<6 { group.addTask { try await load.run(lane: lane, until: end) } }
                    group.addTask {
                        var jwt = false
                        while ContinuousClock.now + Self.phase < end {
                            try await Task.sleep(for: Self.phase)
                            jwt.toggle()
                            if jwt {
                                _ = try await portico.useJWT(["signingSecret": Self.secret, "algorithms": ["HS256"]])
                            } else {
                                _ = try await AuthSettingsService(store: portico.store, secretBox: portico.secretBox).update(
                                    AuthSettingsInput(mode: .apiKey), by: portico.actor)
                            }
                            load.switched(toJWT: jwt)
                        }
                    }
                    while ContinuousClock.now < end {
                        samples.append(((ContinuousClock.now - started).seconds, gateway.residentKiB))
                        try await Task.sleep(for: .seconds(10))
                    }
                    try await group.waitForAll()
                }
                samples.append(((ContinuousClock.now - started).seconds, gateway.residentKiB))

                let counts = load.counts
                // By the first minute's end the first JWT phase has filled the verified-token memory.
                let settled = samples.filter { $0.seconds >= 60 }
                let slope = Self.slopeKiBPerMinute(settled)
                let firstPeak = samples.filter { $0.seconds <= 120 }.map(\.kib).max() ?? 0
                let growth = max(0, (samples.filter { $0.seconds > 120 }.map(\.kib).max() ?? 0) - firstPeak)
                let memoryBoundKiB = VerifiedTokenMemory().byteLimit / 1024
                print(
                    """
                    soak: \(Self.seconds) s, \(counts.values.reduce(0, +)) requests \(counts.sorted { $0.key < $1.key }); \
                    RSS KiB \(samples.map(\.kib)); after the first two minutes' peak: growth \(growth) KiB; after the first minute: slope \(String(format: "%.1f", slope)) KiB/min \
                    (bound \(memoryBoundKiB) KiB)
                    """)
                #expect(gateway.isRunning)
                let unexpected = load.unexpected
                #expect(
                    unexpected.count == 0,
                    "\(unexpected.count) unexpected answers, the first: \(unexpected.prefix(5)); the gateway's log ends: \(gateway.log.suffix(1500))")
                for status in [200, 404, 413, 429] { #expect(counts[status, default: 0] > 0, "no \(status) in \(counts)") }
                #expect(growth <= memoryBoundKiB, "RSS grew \(growth) KiB past the first two minutes' peak: \(samples)")
                #expect(slope * Double(Self.seconds) / 60 <= Double(memoryBoundKiB), "slope \(slope) KiB/min")
            }
        }
    }

    /// Least-squares slope of the samples, in KiB per minute.
    static func slopeKiBPerMinute(_ samples: [(seconds: Double, kib: Int)]) -> Double {
        guard samples.count >= 2 else { return 0 }
        let n = Double(samples.count)
        let meanX = samples.map(\.seconds).reduce(0, +) / n
        let meanY = samples.map { Double($0.kib) }.reduce(0, +) / n
        let covariance = samples.map { ($0.seconds - meanX) * (Double($0.kib) - meanY) }.reduce(0, +)
        let variance = samples.map { ($0.seconds - meanX) * ($0.seconds - meanX) }.reduce(0, +)
        return variance == 0 ? 0 : covariance / variance * 60
    }
}

/// The clients' side of the soak: each lane goes round a mix of calls with the credential the current mode takes.
final class SoakLoad: Sendable {
    private struct State {
        var jwt = false
        var switchedAt = ContinuousClock.now
        var counts: [Int: Int] = [:]
        var unexpected: [String] = []
    }

    private let gateway: GatewayProcess
    private let keys: [String]
    private let tokens: [String]
    private let state = Mutex(State())
    private let small = Data(repeating: 0x61, count: 32 * 1024)
    private let large = Data(repeating: 0x62, count: 128 * 1024)

    init(gateway: GatewayProcess, keys: [String], tokens: [String]) {
        self.gateway = gateway
        self.keys = keys
        self.tokens = tokens
    }

    func switched(toJWT jwt: Bool) {
        state.withLock {
            $0.jwt = jwt
            $0.switchedAt = .now
        }
    }

    var counts: [Int: Int] { state.withLock { $0.counts } }
    var unexpected: [String] { state.withLock { $0.unexpected } }

    func run(lane: Int, until end: ContinuousClock.Instant) async throws {
        var call = lane
        while ContinuousClock.now < end {
            call += 6
            let (jwt, sinceSwitch) = state.withLock { ($0.jwt, ContinuousClock.now - $0.switchedAt) }
            let credential = jwt ? tokens[call % tokens.count] : keys[call % keys.count]
            let (path, method, body, expected): (String, NIOHTTP1Method, Data?, Set<Int>) =
                switch call % 10 {
                case 0: ("/nowhere/\(call)", .GET, nil, [404])
                case 1: ("/tight/x", .GET, nil, [200, 429])
                case 2: ("/uploads/small", .POST, small, [200])
                case 3: ("/uploads/large", .POST, large, [413])
                default: ("/orders/\(call % 97)?page=\(call % 7)", .GET, nil, [200])
                }
            let answer: TestHTTPResponse
            do {
                answer = try await TestHTTP.send(method, gateway.baseURL + path, bearer: credential, body: body, timeout: .seconds(10))
            } catch {
                state.withLock { $0.unexpected.append("\(method) \(path): \(error)") }
                continue
            }
            // For a moment after a mode switch, the gateway may still hold the snapshot before it.
            let settling = sinceSwitch < .seconds(3) && answer.status == 401
            state.withLock { state in
                state.counts[answer.status, default: 0] += 1
                if !expected.contains(answer.status), !settling {
                    state.unexpected.append("\(method) \(path) (\(jwt ? "JWT" : "key")): \(answer.status) \(answer.text.prefix(120))")
                }
            }
        }
    }
}
