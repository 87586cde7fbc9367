import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL
import Synchronization

/// A real JWKS endpoint over HTTP whose key set a test can change (rotation) and whose fetches it can count.
public final class JWKSServer: HTTPResponder, Sendable {
    public typealias Context = BasicRequestContext

    private struct State {
        var body: String
        var fetches = 0
        var cacheControl: String?
        var failing = false
        var delay: Duration = .zero
    }

    private let state: Mutex<State>

    public init(keys: [[String: String]]) {
        state = Mutex(State(body: TestJWKS.json(keys)))
    }

    public var fetches: Int { state.withLock { $0.fetches } }

    public func serve(_ keys: [[String: String]]) { state.withLock { $0.body = TestJWKS.json(keys) } }

    public func serveRaw(_ body: String) { state.withLock { $0.body = body } }

    public func setCacheControl(_ value: String?) { state.withLock { $0.cacheControl = value } }

    /// Answers 500 while set, as an IdP in trouble does.
    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    /// Holds every answer this long, as an IdP under load does.
    public func setDelay(_ delay: Duration) { state.withLock { $0.delay = delay } }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let (body, cacheControl, failing, delay) = state.withLock { state in
            state.fetches += 1
            return (state.body, state.cacheControl, state.failing, state.delay)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        if failing { return Response(status: .internalServerError) }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let cacheControl { headers[.cacheControl] = cacheControl }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Runs `server` on a free loopback port around `body`, which gets the base URL.
public func withJWKSServer<Result: Sendable>(_ server: JWKSServer, _ body: (String) async throws -> Result) async throws -> Result {
    try await withUpstream(server) { port in try await body("http://127.0.0.1:\(port)") }
}

/// A self-signed certificate for 127.0.0.1 made by `openssl` for this run, with its key, both PEM.
public struct SelfSignedCertificate: Sendable {
    public let certificatePEM: String
    public let keyPEM: String

    public static func make() throws -> SelfSignedCertificate {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("portico-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", folder.appendingPathComponent("key.pem").path, "-out", folder.appendingPathComponent("cert.pem").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TLSFixtureError.opensslFailed(process.terminationStatus) }
        return SelfSignedCertificate(
            certificatePEM: try String(contentsOf: folder.appendingPathComponent("cert.pem"), encoding: .utf8),
            keyPEM: try String(contentsOf: folder.appendingPathComponent("key.pem"), encoding: .utf8))
    }

    enum TLSFixtureError: Error {
        case opensslFailed(Int32)
    }
}

/// Runs `server` over HTTPS with `certificate` on a free loopback port around `body`, which gets the base URL.
public func withHTTPSJWKSServer<Result: Sendable>(
    _ server: JWKSServer, certificate: SelfSignedCertificate, _ body: (String) async throws -> Result
) async throws -> Result {
    let tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.keyPEM.utf8), format: .pem)))
    let ports = PortReporter()
    let app = Application(
        responder: server, server: try .tls(.http1(), tlsConfiguration: tls),
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: ports.onServerRunning, logger: TestDatabase.logger)
    return try await withServices([app]) {
        try await body("https://127.0.0.1:\(await ports.next())")
    }
}
