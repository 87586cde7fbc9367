import AsyncHTTPClient
import Foundation
import PorticoGateway
import PorticoTestSupport
import Testing

/// The gateway and the control plane terminate TLS themselves (`--tls-cert`, `--tls-key`): TLS 1.2 and 1.3 only,
/// ALPN `http/1.1`, a renewed pair presented to new connections while open ones go on, and a bad pair refused at
/// start in one line.
@Suite struct GatewayTLSTests {
    /// A fresh folder for a certificate and key, as a renewal tool or a secret mount keeps them.
    struct Files {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("portico-tls-\(UUID().uuidString)")
        var certificate: String { folder.appendingPathComponent("tls.crt").path }
        var key: String { folder.appendingPathComponent("tls.key").path }

        init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    func withTLSGateway(_ body: (GatewayHandle, String, Files, TestCertificate) async throws -> Void) async throws {
        let files = try Files()
        defer { files.remove() }
        let first = try TestCertificate()
        try first.install(certificate: files.certificate, key: files.key)
        let certificate = try ServerCertificate(certificatePath: files.certificate, keyPath: files.key, logger: TestDatabase.logger)
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
                try await portico.grant("all", groups: ["buyers"])
                let (_, key) = try await portico.seedConsumer(groups: ["buyers"])
                try await portico.withGateway(tls: certificate) { gateway in try await body(gateway, key, files, first) }
            }
        }
    }

    @Test func aRequestOverTLSIsForwardedAndTheUpstreamHearsItCameOverHTTPS() async throws {
        try await withTLSGateway { gateway, key, _, root in
            let client = try HTTPClient.trusting(root)
            let response = try await TestHTTP.send(.GET, "https://localhost:\(gateway.port)/orders/1", bearer: key, client: client)
            try await client.shutdown()
            #expect(response.status == 200)
            let headers = try response.json()["headers"] as? [String: String]
            #expect(headers?["x-forwarded-proto"] == "https")
            #expect(headers?["authorization"] == nil, "the key stays at the gateway over TLS too")
        }
    }

    @Test func aRenewedPairIsPresentedToNewConnectionsWhileOpenOnesGoOn() async throws {
        try await withTLSGateway { gateway, key, files, first in
            let open = try await HeldConnection.open(port: gateway.port, trusting: first)
            #expect(try await open.get("/orders/1", bearer: key) == 200)
            #expect(try await open.peerSerial == first.serial)

            let renewed = try TestCertificate()
            try renewed.install(certificate: files.certificate, key: files.key)
            try await Task.sleep(for: ServerCertificate.checkInterval + .milliseconds(300))
            let fresh = try await HeldConnection.open(port: gateway.port, trusting: renewed)
            #expect(try await fresh.get("/orders/2", bearer: key) == 200)
            #expect(try await fresh.peerSerial == renewed.serial, "a new connection sees the renewed certificate")
            #expect(try await open.get("/orders/3", bearer: key) == 200, "the connection opened before the renewal goes on")

            // A renewal caught half-way: the new certificate beside the old key. The last good pair stays in use.
            let half = try TestCertificate()
            try half.installCertificateOnly(at: files.certificate)
            try await Task.sleep(for: ServerCertificate.checkInterval + .milliseconds(300))
            let after = try await HeldConnection.open(port: gateway.port, trusting: renewed)
            #expect(try await after.get("/orders/4", bearer: key) == 200)
            #expect(try await after.peerSerial == renewed.serial)
            for connection in [open, fresh, after] { await connection.close() }
        }
    }

    @Test func onlyTLS12And13AreSpokenWithALPNHTTP11() async throws {
        try await withTLSGateway { gateway, _, _, _ in
            let tls13 = try Self.sClient(port: gateway.port, ["-alpn", "h2,http/1.1"])
            #expect(tls13.output.contains("TLSv1.3"), "\(tls13.output)")
            #expect(tls13.output.contains("ALPN protocol: http/1.1"), "h2 is not offered: the gateway speaks HTTP/1.1")
            let tls12 = try Self.sClient(port: gateway.port, ["-tls1_2"])
            #expect(tls12.status == 0)
            #expect(tls12.output.contains("TLSv1.2"))
            // The client is allowed TLS 1.1 (security level 0), so only the gateway can refuse it.
            let tls11 = try Self.sClient(port: gateway.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(tls11.status != 0)
            #expect(!tls11.output.contains("BEGIN CERTIFICATE"), "no certificate is shown over TLS 1.1")
        }
    }

    @Test func anUnreadableOrMismatchedPairIsAOneLineErrorAtStart() throws {
        let files = try Files()
        defer { files.remove() }
        let pair = try TestCertificate()
        try pair.install(certificate: files.certificate, key: files.key)
        let other = try TestCertificate()
        let otherKey = files.folder.appendingPathComponent("other.key").path
        try other.keyPEM.write(toFile: otherKey, atomically: true, encoding: .utf8)
        let notPEM = files.folder.appendingPathComponent("notes.txt").path
        try "not a certificate".write(toFile: notPEM, atomically: true, encoding: .utf8)
        let missing = files.folder.appendingPathComponent("missing.crt").path

        for (certificate, key, named) in [
            (missing, files.key, "\(missing) cannot be read"), (notPEM, files.key, "--tls-cert \(notPEM) holds no PEM certificate"),
            (files.certificate, notPEM, "--tls-key \(notPEM) is not an unencrypted PEM private key"),
            (files.certificate, otherKey, "--tls-key \(otherKey) is not the key of the certificate in --tls-cert \(files.certificate)"),
        ] {
            // Checked before the database is even looked for.
            let result = try runPortico(
                ["gateway", "--tls-cert", certificate, "--tls-key", key], environment: ["DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"])
            #expect(result.status != 0)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(named), "\(result.stderr)")
        }
        let half = try runPortico(["gateway", "--tls-cert", files.certificate])
        #expect(half.status != 0)
        #expect(half.stderr.contains("--tls-cert and --tls-key go together"))
    }

    @Test func porticoServeServesItsDashboardAndGatewayOverTLS() async throws {
        let files = try Files()
        defer { files.remove() }
        let root = try TestCertificate()
        try root.install(certificate: files.certificate, key: files.key)
        try await withTestPortico { portico in
            let serve = try await PorticoProcess(
                database: portico.testDatabase, extraArguments: ["--tls-cert", files.certificate, "--tls-key", files.key], tlsRoot: root)
            defer { serve.stop() }
            let client = try HTTPClient.trusting(root)
            let signIn = try await TestHTTP.send(.GET, "https://localhost:\(serve.adminPort)/admin/sign-in", client: client)
            let gateway = try await TestHTTP.send(.GET, "https://localhost:\(serve.gatewayPort)/nowhere", client: client)
            try await client.shutdown()
            #expect(signIn.status == 200)
            #expect(signIn.header("Set-Cookie")?.contains("Secure") == true, "over TLS of its own, the dashboard's cookies are Secure")
            #expect(gateway.status == 404)
            let plain = try? await TestHTTP.send(.GET, "http://127.0.0.1:\(serve.adminPort)/readyz", timeout: .seconds(2))
            #expect(plain?.status != 200, "plain HTTP to a TLS listener gets no answer")
        }
    }

    /// `openssl s_client` against the gateway: its exit status and everything it printed.
    static func sClient(port: Int, _ options: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + options
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
