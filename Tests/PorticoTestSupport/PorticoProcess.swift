import AsyncHTTPClient
import Foundation
import Synchronization

/// A real `portico` process (the built binary) for tests that cross process boundaries.
public final class PorticoProcess: @unchecked Sendable {
    public let adminPort: Int
    public let gatewayPort: Int
    private let tlsRoot: TestCertificate?
    private let process: Process
    private let output: Pipe
    private let collected = CollectedOutput()

    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["PORTICO_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/portico").standardized
    }

    /// Starts `portico serve` on free ports against `database`, with `environment` added, and waits until `/readyz`
    /// answers 200. What it prints is collected (`log`) as it comes, so a verbose `logLevel` never fills the pipe.
    /// Over TLS (`--tls-cert` among `extraArguments`), readiness is asked over HTTPS trusting `tlsRoot`.
    public init(
        database: TestDatabase, extraArguments: [String] = [], environment extra: [String: String] = [:], logLevel: String = "warning",
        tlsRoot: TestCertificate? = nil
    ) async throws {
        self.tlsRoot = tlsRoot
        adminPort = try freeLoopbackPort()
        gatewayPort = try freeLoopbackPort()
        process = Process()
        process.executableURL = Self.binary
        process.arguments =
            [
                "serve", "--admin-port", String(adminPort), "--gateway-port", String(gatewayPort), "--log-level", logLevel,
            ] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.url.connectionString
        environment.merge(extra) { $1 }
        process.environment = environment
        output = Pipe()
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [collected] readable in
            let data = readable.availableData
            guard !data.isEmpty else { return }
            collected.append(data)
        }
        try process.run()
        try await waitUntilReady()
    }

    /// What the process printed so far.
    public var log: String { collected.text }

    private func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        let client = try tlsRoot.map { try HTTPClient.trusting($0) } ?? .shared
        let url = tlsRoot == nil ? "http://127.0.0.1:\(adminPort)/readyz" : "https://localhost:\(adminPort)/readyz"
        var ready = false
        while !ready, ContinuousClock.now < deadline, process.isRunning {
            ready = (try? await TestHTTP.send(.GET, url, timeout: .seconds(1), client: client))?.status == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        if tlsRoot != nil { try? await client.shutdown() }
        if ready { return }
        stop()
        throw ProcessFailure(description: "portico serve did not become ready: \(log)")
    }

    public func stop() {
        if process.isRunning {
            process.interrupt()
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

/// Output of a child process, appended from the pipe's reader thread and read by the test.
final class CollectedOutput: Sendable {
    private let data = Mutex(Data())

    func append(_ more: Data) { data.withLock { $0.append(more) } }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The result of running the `portico` binary to completion.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `portico ARGS` with `environment` added and `input` on stdin (empty stdin when nil).
public func runPortico(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = PorticoProcess.binary
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    merged.removeValue(forKey: "DATABASE_URL")
    merged.merge(environment) { $1 }
    process.environment = merged
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let out = readToEnd(stdout.fileHandleForReading)
    let err = readToEnd(stderr.fileHandleForReading)
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// Everything left to read from `handle`. Foundation's `readDataToEndOfFile` traps when a signal interrupts its
/// read (EINTR, seen when another test's child process ends meanwhile); this reads with POSIX `read` and retries.
private func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            data.append(contentsOf: buffer[..<count])
        } else if count == 0 || errno != EINTR {
            return data
        }
    }
}

/// A real `portico gateway` process with its status listener, which a test can stop with SIGTERM and start again
/// on the same ports (a rolling restart), and whose descriptors and memory it can read.
public final class GatewayProcess: @unchecked Sendable {
    public let gatewayPort: Int
    public let statusPort: Int
    private let databaseURL: String
    private let extraArguments: [String]
    private let extraEnvironment: [String: String]
    private var process = Process()
    private var output = Pipe()
    private let collected = CollectedOutput()

    /// `environment` is added to the test's own (`PORTICO_SECRET_KEY`, say, for sealed secrets).
    public init(databaseURL: String, extraArguments: [String] = [], environment: [String: String] = [:]) async throws {
        gatewayPort = try freeLoopbackPort()
        statusPort = try freeLoopbackPort()
        self.databaseURL = databaseURL
        self.extraArguments = extraArguments
        self.extraEnvironment = environment
        try await start()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var baseURL: String { "http://127.0.0.1:\(gatewayPort)" }

    /// Starts the process (again) and waits until its `/readyz` answers 200.
    public func start() async throws {
        process = Process()
        process.executableURL = PorticoProcess.binary
        process.arguments =
            ["gateway", "--gateway-port", String(gatewayPort), "--status-port", String(statusPort), "--log-level", "info"] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment.merge(extraEnvironment) { $1 }
        process.environment = environment
        output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let handle = output.fileHandleForReading
        handle.readabilityHandler = { [collected] readable in
            let data = readable.availableData
            guard !data.isEmpty else { return }
            collected.append(data)
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            if let ready = try? await TestHTTP.send(.GET, "http://127.0.0.1:\(statusPort)/readyz", timeout: .seconds(1)), ready.status == 200 {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw ProcessFailure(description: "portico gateway did not become ready: \(log)")
    }

    /// What the process printed so far.
    public var log: String { collected.text }

    /// SIGTERM: the process drains and exits by itself.
    public func terminate() { if process.isRunning { process.terminate() } }

    /// Waits for the process to exit; false if it is still running after `timeout`.
    public func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Open file descriptors of the process, from `/proc`.
    public var openDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// Resident memory in KiB, from `/proc`.
    public var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    deinit {
        if process.isRunning {
            process.interrupt()
            process.waitUntilExit()
        }
    }
}
