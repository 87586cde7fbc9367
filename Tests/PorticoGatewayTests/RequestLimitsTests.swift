import Foundation
import PorticoCore
import PorticoGateway
import PorticoTestSupport
import PorticoWeb
import Testing

/// What a client may send: an API's `maxBodyBytes` is counted as the body streams (413 beyond it, by its declared
/// length or by what arrives), and a request head over 32 KiB is a 431.
@Suite struct RequestLimitsTests {
    @Test func anAPIsBodyLimitIsKeptWhetherTheLengthIsDeclaredOrStreamed() async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let api = try await portico.createAPI("uploads", prefix: "/uploads", upstreamPort: upstream)
                try await APIService(store: portico.store).update(api.id, APIPatch(maxBodyBytes: .some(1_000)), by: portico.actor)
                try await portico.grant("buyers", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway { gateway in
                    let within = try await TestHTTP.send(.POST, gateway.baseURL + "/uploads", bearer: key, body: Data(repeating: 65, count: 1_000))
                    #expect(within.status == 200)
                    #expect(within.body.count == 1_000)

                    let declared = try await TestHTTP.send(.POST, gateway.baseURL + "/uploads", bearer: key, body: Data(repeating: 65, count: 1_001))
                    #expect(declared.status == 413)
                    #expect(try declared.json()["error"] as? String == "body_too_large")

                    let chunk = String(repeating: "B", count: 1_500)
                    let streamed = try await RawHTTP.exchange(
                        port: gateway.port,
                        "POST /uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n0\r\n\r\n")
                    #expect(streamed.hasPrefix("HTTP/1.1 413"), "\(streamed.prefix(200))")
                    #expect(streamed.contains("body_too_large"))

                    let lifted = try await APIService(store: portico.store).update(api.id, APIPatch(maxBodyBytes: .some(nil)), by: portico.actor)
                    #expect(lifted.maxBodyBytes == nil)
                    await portico.reloadPolicy()
                    let big = try await TestHTTP.send(.POST, gateway.baseURL + "/uploads", bearer: key, body: Data(repeating: 65, count: 100_000))
                    #expect(big.status == 200)
                }
                await #expect(throws: PorticoError.self) {
                    try await APIService(store: portico.store).update(api.id, APIPatch(maxBodyBytes: .some(0)), by: portico.actor)
                }
            }
        }
    }

    @Test func theControlPlaneAnswersAnOversizedRequestHeadWith431TooAsTheGatewayDoes() async throws {
        try await withTestPortico { portico in
            let serve = try await PorticoProcess(database: portico.testDatabase)
            defer { serve.stop() }
            let within = try await RawHTTP.exchange(
                port: serve.adminPort,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=\(String(repeating: "c", count: 30_000))\r\n\r\n")
            #expect(within.hasPrefix("HTTP/1.1 200"), "\(within.prefix(200))")
            let over = try await RawHTTP.exchange(
                port: serve.adminPort, "GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: a=\(String(repeating: "c", count: 40_000))\r\n\r\n")
            #expect(over.hasPrefix("HTTP/1.1 431"), "\(over.prefix(200))")
            #expect(over.contains("headers_too_large") && over.lowercased().contains("connection: close"))
            let afterwards = try await TestHTTP.send(.GET, "http://127.0.0.1:\(serve.adminPort)/healthz")
            #expect(afterwards.status == 200)
        }
    }
}
