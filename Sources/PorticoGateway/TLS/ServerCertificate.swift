import Foundation
import Logging
import NIOSSL
import Synchronization
import X509

/// The certificate and key a listener presents (`--tls-cert`, `--tls-key`, PEM files). Checked at start: both
/// readable, a certificate chain and a private key, and the key the certificate's. Read again when either file
/// changes (a renewal by certbot, a rotated secret mount): handshakes from then on present the new pair, open
/// connections keep theirs, and a pair that does not check out (a half-written renewal) is logged and left unused.
public final class ServerCertificate: Sendable {
    /// What is wrong with the files, in one line naming them.
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Tells a replaced file from the one read: a renewal writes a new file (inode) or new content (size, time).
    struct FileStamp: Equatable, Sendable {
        let inode: UInt64
        let size: Int64
        let modified: Int64

        init(path: String) throws(LoadError) {
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw LoadError(description: "\(path) cannot be read: \(String(cString: strerror(errno)))")
            }
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        }
    }

    struct Pair: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let stamps: [FileStamp]
        /// The leaf certificate's serial number, for the log and the tests.
        let serial: String
    }

    private struct State: Sendable {
        var pair: Pair
        var checked: ContinuousClock.Instant
        /// The files' stamps when they last failed to load, so that a bad pair is reported once.
        var refused: [FileStamp]?
    }

    /// How often a handshake looks at the files' stamps (two `stat` calls).
    public static let checkInterval: Duration = .seconds(1)

    let certificatePath: String
    let keyPath: String
    private let logger: Logger
    private let state: Mutex<State>

    public init(certificatePath: String, keyPath: String, logger: Logger) throws(LoadError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.logger = logger
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        state = Mutex(State(pair: pair, checked: .now, refused: nil))
    }

    /// TLS 1.2 and 1.3, ALPN `http/1.1`, and the current pair for every handshake.
    public var serverConfiguration: TLSConfiguration {
        let pair = current()
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { [self] _, promise in
            let pair = current()
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    /// The pair to present, read again first if a file changed since the last look (at most once a second).
    func current() -> Pair {
        let due = state.withLock { state -> [FileStamp]? in
            guard ContinuousClock.now - state.checked >= Self.checkInterval else { return nil }
            state.checked = .now
            return state.pair.stamps
        }
        guard let known = due else { return state.withLock { $0.pair } }
        let stamps = try? [FileStamp(path: certificatePath), FileStamp(path: keyPath)]
        guard let stamps, stamps != known else { return state.withLock { $0.pair } }
        do {
            let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
            state.withLock { state in
                state.pair = pair
                state.refused = nil
            }
            logger.info("TLS certificate reloaded", metadata: ["certificate": "\(certificatePath)", "serial": "\(pair.serial)"])
            return pair
        } catch {
            let first = state.withLock { state -> Bool in
                defer { state.refused = stamps }
                return state.refused != stamps
            }
            if first {
                logger.warning(
                    "TLS certificate files changed but do not load; the previous pair stays in use", metadata: ["reason": "\(error)"])
            }
            return state.withLock { $0.pair }
        }
    }

    static func load(certificatePath: String, keyPath: String) throws(LoadError) -> Pair {
        let stamps = [try FileStamp(path: certificatePath), try FileStamp(path: keyPath)]
        let certificateBytes = try read(certificatePath, option: "--tls-cert")
        let keyBytes = try read(keyPath, option: "--tls-key")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw LoadError(description: "--tls-cert \(certificatePath) holds no PEM certificate (\(error))")
        }
        guard let leaf = chain.first else { throw LoadError(description: "--tls-cert \(certificatePath) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw LoadError(description: "--tls-key \(keyPath) is not an unencrypted PEM private key (\(error))")
        }
        let certificate: Certificate
        let privateKey: Certificate.PrivateKey
        do {
            certificate = try Certificate(derEncoded: try leaf.toDERBytes())
            privateKey = try Certificate.PrivateKey(pemEncoded: String(decoding: keyBytes, as: UTF8.self))
        } catch {
            throw LoadError(description: "--tls-cert \(certificatePath) or --tls-key \(keyPath) cannot be read as X.509 (\(error))")
        }
        guard privateKey.publicKey == certificate.publicKey else {
            throw LoadError(description: "--tls-key \(keyPath) is not the key of the certificate in --tls-cert \(certificatePath)")
        }
        return Pair(chain: chain, key: key, stamps: stamps, serial: certificate.serialNumber.description)
    }

    private static func read(_ path: String, option: String) throws(LoadError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "\(option) \(path) cannot be read")
        }
        return Array(data)
    }
}
