import Foundation
import PorticoGateway
import PorticoTestSupport
import Testing

/// A second, independent judge of the proxy: HTTPolice (an HTTP/1.1 conformance linter from PyPI, installed by
/// `scripts/httpolice-deps.sh`) reads the raw bytes of both connections of a pipelined exchange, the client's and
/// the gateway's to the upstream (recorded by a TCP relay), and must find no errors in what the gateway wrote.
/// Its comments (a missing `Date`, a missing `User-Agent`) are advice, not errors, and are printed for the record.
@Suite struct HTTPConformanceTests {
    static var linter: String? {
        if let command = ProcessInfo.processInfo.environment["PORTICO_HTTPOLICE"], !command.isEmpty { return command }
        let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/httpolice/run").standardized
        return FileManager.default.isExecutableFile(atPath: built.path) ? built.path : nil
    }

    @Test func httpoliceFindsNoErrorInWhatTheGatewaySendsEitherWay() async throws {
        let linter = try #require(Self.linter, "HTTPolice is not installed: run the tests through scripts/test.sh (make test)")
        try await withEchoUpstream { echo in
            let relay = try await TCPProxy(to: echo)
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: relay.port)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("portico-conformance-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: folder) }
                let root = try TestCertificate()
                let (certificatePath, keyPath) = (folder.appendingPathComponent("tls.crt").path, folder.appendingPathComponent("tls.key").path)
                try root.install(certificate: certificatePath, key: keyPath)
                // Over TLS, as bearer credentials are meant to travel (HTTPolice flags them in the clear).
                let tls = try ServerCertificate(certificatePath: certificatePath, keyPath: keyPath, logger: TestDatabase.logger)
                try await portico.withGateway(tls: tls) { gateway in
                    let common = "Host: gateway.test\r\nUser-Agent: conformance/1\r\nAuthorization: Bearer \(key)\r\n"
                    let requests = [
                        "GET /orders/1?page=2 HTTP/1.1\r\n\(common)Accept: application/json\r\n\r\n",
                        "HEAD /orders/2 HTTP/1.1\r\n\(common)\r\n",
                        "POST /orders HTTP/1.1\r\n\(common)Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"item\":\"42\"}",
                        "PUT /orders/3 HTTP/1.1\r\n\(common)Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;note=x\r\n world\r\n0\r\n\r\n",
                        "OPTIONS /orders HTTP/1.1\r\n\(common)\r\n",
                        "GET /nowhere HTTP/1.1\r\n\(common)\r\n",
                        "GET /orders/4 HTTP/1.1\r\nHost: gateway.test\r\nUser-Agent: conformance/1\r\n\r\n",
                        "DELETE /orders/5 HTTP/1.1\r\n\(common)Connection: close\r\n\r\n",
                    ].joined()
                    let connection = try await HeldConnection.open(port: gateway.port, trusting: root)
                    let answers = try await connection.exchange(Array(requests.utf8))
                    let clientSide = try Self.lint(
                        linter, requests: Array(requests.utf8), responses: answers, overTLS: true, label: "client ↔ gateway (TLS)")
                    #expect(clientSide.status == 0, "\(clientSide.report)")
                    // The text report lists only exchanges with notices; every request got its answer, in order.
                    let statuses = String(decoding: answers, as: UTF8.self).matches(of: #/HTTP/1\.1 (\d{3}) /#).map { String($0.output.1) }
                    #expect(statuses == ["200", "200", "200", "200", "200", "404", "401", "200"])

                    let upstreamSide = relay.recorded
                    #expect(!upstreamSide.isEmpty)
                    for (index, connection) in upstreamSide.enumerated() {
                        let lint = try Self.lint(
                            linter, requests: connection.toTarget, responses: connection.fromTarget, overTLS: false,
                            label: "gateway ↔ upstream \(index)")
                        #expect(lint.status == 0, "\(lint.report)")
                    }
                }
            }
            await relay.cut()
        }
    }

    /// Runs HTTPolice on one connection's two streams (its "combined" input, whose name tells the scheme); its
    /// report is printed for the record.
    static func lint(
        _ linter: String, requests: [UInt8], responses: [UInt8], overTLS: Bool, label: String
    ) throws -> (status: Int32, report: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portico-httpolice-\(UUID().uuidString).\(overTLS ? "https" : "http")")
        defer { try? FileManager.default.removeItem(at: file) }
        var combined = Array("======== BEGIN INBOUND STREAM ========\r\n".utf8) + requests
        combined += Array("======== BEGIN OUTBOUND STREAM ========\r\n".utf8) + responses
        try Data(combined).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: linter)
        process.arguments = ["-i", "combined", "--fail-on", "error", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let report = String(decoding: data, as: UTF8.self)
        print("HTTPolice, \(label):\n\(report)")
        return (process.terminationStatus, report)
    }
}
