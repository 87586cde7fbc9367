import AsyncHTTPClient
import Foundation
import NIOCore
import PorticoCore
import PorticoTestSupport
import Testing

/// SIGTERM to a real `portico gateway`: readiness says `draining` at once, then the listener closes; requests in
/// flight (a 5 s slow answer, a streamed 50 MiB upload) finish, idle keep-alive connections are closed, answers
/// in flight say `Connection: close`, and the process exits by itself well within `--drain-seconds`.
@Suite struct GracefulShutdownTests {
    static let uploadBytes = 50 << 20

    @Test(.timeLimit(.minutes(4))) func inFlightRequestsFinishAndTheProcessExitsWithinTheDrainTimeout() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("buyers", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                let gateway = try await GatewayProcess(
                    databaseURL: portico.testDatabase.url.connectionString, extraArguments: ["--drain-seconds", "15", "--upstream-timeout", "30"])
                defer { gateway.terminate() }

                let idle = try RawConnection(port: gateway.gatewayPort)
                let first = try idle.exchange("GET /orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\n\r\n")
                #expect(first.hasPrefix("HTTP/1.1 200"))

                let slow = Task { try await TestHTTP.send(.GET, gateway.baseURL + "/orders?delay_ms=5000", bearer: key, timeout: .seconds(30)) }
                let upload = Task { try await Self.upload(to: gateway.baseURL + "/orders/upload", key: key) }
                try await Task.sleep(for: .milliseconds(700))

                let clock = ContinuousClock()
                let terminated = clock.now
                gateway.terminate()
                try await Task.sleep(for: .milliseconds(300))
                let readiness = try await TestHTTP.send(.GET, "http://127.0.0.1:\(gateway.statusPort)/readyz", timeout: .seconds(2))
                #expect(readiness.status == 503)
                #expect(try readiness.json()["status"] as? String == "draining")

                #expect(idle.waitForClose(timeout: .seconds(5)), "the idle keep-alive connection was not closed")
                try await Task.sleep(for: .milliseconds(1_200))
                #expect(throws: (any Error).self, "a new connection was accepted while draining") {
                    _ = try RawConnection(port: gateway.gatewayPort)
                }

                if case .failure(let error) = await slow.result { Issue.record("the slow request failed: \(error)") }
                if case .failure(let error) = await upload.result { Issue.record("the upload failed: \(error)") }
                let slowAnswer = try await slow.value
                #expect(slowAnswer.status == 200)
                #expect(slowAnswer.header("Connection")?.lowercased() == "close")
                let (status, echoed) = try await upload.value
                #expect(status == 200)
                #expect(echoed == Self.uploadBytes)

                #expect(await gateway.waitForExit(timeout: .seconds(10)), "the gateway did not exit")
                #expect(clock.now - terminated < .seconds(15))
                #expect(gateway.exitStatus == 0)
                #expect(gateway.log.contains("gateway drained"), "\(gateway.log.suffix(2_000))")
            }
        }
    }

    /// Streams 50 MiB up over about 3 s (so it is in flight at SIGTERM) and counts what the echo streams back.
    static func upload(to url: String, key: String) async throws -> (Int, Int) {
        let chunk = ByteBuffer(repeating: 0x61, count: 1 << 20)
        let chunks = AsyncStream<ByteBuffer> { continuation in
            Task {
                // The pause comes before each chunk, so the stream ends as soon as the last one is out.
                for _ in 0..<(uploadBytes >> 20) {
                    try? await Task.sleep(for: .milliseconds(60))
                    continuation.yield(chunk)
                }
                continuation.finish()
            }
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.body = .stream(chunks, length: .known(Int64(uploadBytes)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var received = 0
        for try await part in response.body { received += part.readableBytes }
        return (Int(response.status.code), received)
    }
}
