import Foundation
import PorticoCore

/// A real OpenID provider for the tests: `oidc-provider-mock` from PyPI, installed by `scripts/oidc-provider-deps.sh`
/// (which `scripts/test.sh` runs and names in `PORTICO_OIDC_PROVIDER`), started on a free port with predefined users.
/// Its authorization page is a form: the browser (or the test) picks a user by posting `sub`.
public final class OIDCProviderMock: @unchecked Sendable {
    public let issuer: String
    private let process: Process

    public static var command: String? {
        if let command = ProcessInfo.processInfo.environment["PORTICO_OIDC_PROVIDER"], !command.isEmpty { return command }
        let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/oidc-provider/run").standardized
        return FileManager.default.isExecutableFile(atPath: built.path) ? built.path : nil
    }

    /// Starts the provider with these users (each a claims object with `sub`) and waits for its discovery document.
    public init(users: [[String: JSONValue]]) async throws {
        guard let command = Self.command else {
            throw ProcessFailure(description: "oidc-provider-mock is not installed: run the tests through scripts/test.sh (make test)")
        }
        let port = try freeLoopbackPort()
        issuer = "http://127.0.0.1:\(port)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        var arguments = ["--port", String(port)]
        for user in users {
            arguments += ["--user-claims", String(decoding: try JSONEncoder().encode(JSONValue.object(user)), as: UTF8.self)]
        }
        process.arguments = arguments
        // Its request log is not read; a pipe nobody drains would stall the provider once full.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            if let document = try? await TestHTTP.send(.GET, issuer + "/.well-known/openid-configuration", timeout: .seconds(1)),
                document.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        stop()
        throw ProcessFailure(description: "oidc-provider-mock did not start on \(issuer)")
    }

    /// Asks the provider to stop, then kills it: its server waits for idle keep-alive connections before it exits.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Runs oidc-provider-mock around `body`, stopping it whatever happens.
public func withOIDCProviderMock<Result: Sendable>(
    users: [[String: JSONValue]], _ body: (OIDCProviderMock) async throws -> Result
) async throws -> Result {
    let provider = try await OIDCProviderMock(users: users)
    defer { provider.stop() }
    return try await body(provider)
}
