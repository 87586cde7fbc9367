import Foundation
import PorticoCore
import PorticoTestSupport
import Synchronization
import Testing

/// Two `portico gateway` replicas behind HAProxy (Debian's package, health checks on each replica's `/readyz`),
/// restarted one after the other under constant load: every request is answered 200.
@Suite struct RollingRestartTests {
    @Test(.timeLimit(.minutes(4))) func aRollingRestartBehindHAProxyLosesNoRequest() async throws {
        let haproxyBinary = try #require(HAProxy.binary, "haproxy is not installed (apt-get install haproxy; .ci/run does)")
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                let url = portico.testDatabase.url.connectionString
                let replicas = [try await GatewayProcess(databaseURL: url), try await GatewayProcess(databaseURL: url)]
                defer { for replica in replicas { replica.terminate() } }
                let balancer = try HAProxy(binary: haproxyBinary, backends: replicas.map { ($0.gatewayPort, $0.statusPort) })
                defer { balancer.stop() }
                try await balancer.waitUntilServing(path: "/orders", key: key)

                let load = ConstantLoad(url: "http://127.0.0.1:\(balancer.port)/orders", key: key, clients: 8)
                let running = Task { await load.run() }
                try await Task.sleep(for: .seconds(2))
                for replica in replicas {
                    replica.terminate()
                    #expect(await replica.waitForExit(timeout: .seconds(20)), "a replica did not drain and exit")
                    try await replica.start()
                    // HAProxy needs two good checks (`rise 2`) before it sends the replica traffic again.
                    try await Task.sleep(for: .seconds(2))
                }
                load.stop()
                let counts = await running.value
                print("rolling restart: \(counts)")
                #expect(counts.keys.sorted() == [200], "\(counts)")
                #expect((counts[200] ?? 0) > 200, "too little load went through: \(counts)")
            }
        }
    }
}

/// HAProxy in front of gateway replicas, checking each one's status listener.
final class HAProxy: @unchecked Sendable {
    let port: Int
    private let process = Process()
    private let folder: URL

    static var binary: String? {
        ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(binary: String, backends: [(gateway: Int, status: Int)]) throws {
        port = try freeLoopbackPort()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("portico-haproxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let servers = backends.enumerated().map { index, ports in
            "    server r\(index) 127.0.0.1:\(ports.gateway) check port \(ports.status)"
        }
        // Retries (on another replica) cover a connection refused or closed in the moment before a check saw it.
        let configuration = """
            global
                maxconn 512
            defaults
                mode http
                timeout connect 1s
                timeout client 30s
                timeout server 30s
                retries 3
                option redispatch 1
                retry-on all-retryable-errors
            frontend gateways
                bind 127.0.0.1:\(port)
                default_backend replicas
            backend replicas
                balance roundrobin
                option httpchk GET /readyz
                http-check expect status 200
                default-server inter 200ms fall 1 rise 2
            \(servers.joined(separator: "\n"))

            """
        let file = folder.appendingPathComponent("haproxy.cfg")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-f", file.path, "-db"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func waitUntilServing(path: String, key: String) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if let answer = try? await TestHTTP.send(.GET, "http://127.0.0.1:\(port)\(path)", bearer: key, timeout: .seconds(1)),
                answer.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HAProxyFailure(description: "haproxy did not start serving on port \(port)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    struct HAProxyFailure: Error, CustomStringConvertible {
        let description: String
    }
}

/// `clients` loops of GET requests until stopped, every answer counted by status (0 for no answer at all).
final class ConstantLoad: Sendable {
    let url: String
    let key: String
    let clients: Int
    private let stopped = Mutex(false)

    init(url: String, key: String, clients: Int) {
        self.url = url
        self.key = key
        self.clients = clients
    }

    func stop() { stopped.withLock { $0 = true } }

    func run() async -> [Int: Int] {
        await withTaskGroup(of: [Int: Int].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var counts: [Int: Int] = [:]
                    while !self.stopped.withLock({ $0 }) {
                        let status = (try? await TestHTTP.send(.GET, self.url, bearer: self.key, timeout: .seconds(10)))?.status ?? 0
                        counts[status, default: 0] += 1
                    }
                    return counts
                }
            }
            var total: [Int: Int] = [:]
            for await counts in group { total.merge(counts, uniquingKeysWith: +) }
            return total
        }
    }
}
