import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import X509

/// A self-signed P-256 certificate for `localhost`, made in memory, for listeners that terminate TLS.
public struct TestCertificate: Sendable {
    public let certificatePEM: String
    public let keyPEM: String
    /// As X.509 prints it.
    public let serial: String

    public init() throws {
        let key = P256.Signing.PrivateKey()
        let signer = Certificate.PrivateKey(key)
        let name = try DistinguishedName { CommonName("localhost") }
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            SubjectAlternativeNames([.dnsName("localhost")])
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signer.publicKey, notValidBefore: now - 3600,
            notValidAfter: now + 86_400, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: signer)
        certificatePEM = try certificate.serializeAsPEM().pemString
        keyPEM = key.pemRepresentation
        serial = certificate.serialNumber.description
    }

    /// Writes the pair to these paths as a renewal does: each file written aside, then renamed into place.
    public func install(certificate certificatePath: String, key keyPath: String) throws {
        try Self.replace(keyPath, with: keyPEM)
        try Self.replace(certificatePath, with: certificatePEM)
    }

    /// Only the certificate, as a renewal interrupted before it wrote the key.
    public func installCertificateOnly(at certificatePath: String) throws {
        try Self.replace(certificatePath, with: certificatePEM)
    }

    static func replace(_ path: String, with text: String) throws {
        let aside = path + ".new"
        try text.write(toFile: aside, atomically: false, encoding: .utf8)
        guard rename(aside, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    public var niosslCertificate: NIOSSLCertificate {
        get throws { try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem) }
    }
}

/// One connection to a listener (over TLS trusting `root`, or plain), kept open for as long as the test likes (across a certificate
/// renewal, say): raw HTTP/1.1 requests over it, and the certificate it was shown.
public final class HeldConnection: Sendable {
    private let channel: any Channel
    private let received: Received

    /// Everything the server sent so far.
    private final class Received: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }
    }

    /// Over TLS trusting `root`; with none, plain TCP.
    public static func open(port: Int, trusting root: TestCertificate?) async throws -> HeldConnection {
        let context = try root.map { root in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates([try root.niosslCertificate])
            return try NIOSSLContext(configuration: configuration)
        }
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(received)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return HeldConnection(channel: channel, received: received)
    }

    /// Sends `bytes` as they are and returns everything the server sends until it closes the connection (at most
    /// `timeout`).
    public func exchange(_ bytes: [UInt8], timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let deadline = ContinuousClock.now + timeout
        while channel.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !channel.isActive else { throw HeldConnectionError.noAnswer }
        return received.bytes.withLock { $0 }
    }

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
    }

    /// Sends `GET path` with `bearer` and returns the status of the answer, waiting up to 5 s for all of it.
    public func get(_ path: String, bearer: String) async throws -> Int {
        received.bytes.withLock { $0.removeAll() }
        let request = "GET \(path) HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(bearer)\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let text = String(decoding: received.bytes.withLock { $0 }, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<end.upperBound].utf8.count >= length, let status = Int(text.dropFirst(9).prefix(3)) {
                    return status
                }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HeldConnectionError.noAnswer
    }

    /// The serial number of the certificate the server presented on this connection.
    public var peerSerial: String {
        get async throws {
            let handler = try await channel.pipeline.handler(type: NIOSSLClientHandler.self).get()
            let certificate = try await channel.eventLoop.submit { handler.peerCertificate }.get()
            guard let certificate else { throw HeldConnectionError.noAnswer }
            return try Certificate(derEncoded: try certificate.toDERBytes()).serialNumber.description
        }
    }

    public func close() async { try? await channel.close() }
}

public enum HeldConnectionError: Error {
    case noAnswer
}

extension HTTPClient {
    /// A client that trusts `root` alone; the caller shuts it down.
    public static func trusting(_ root: TestCertificate) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try root.niosslCertificate])
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
