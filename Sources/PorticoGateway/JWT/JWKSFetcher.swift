import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PorticoCore

/// Fetches a JWK set over HTTP(S) with the IdP client settings: timeout, retries, CA bundle, and
/// `insecureSkipVerify` (for tests only).
struct JWKSFetcher: Sendable {
    let client: JWTConfig.Client
    let http: HTTPClient

    struct Fetched: Sendable {
        let body: Data
        /// `Cache-Control: max-age`, when the response gave one.
        let maxAgeSeconds: Int?
    }

    /// One client for every identity-provider fetch, living as long as the process. It does not retry a failed
    /// connection (refused, TLS refused) by itself until the deadline: `maxRetries` decides, with a short back-off.
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    enum Failure: Error, CustomStringConvertible {
        case failed(String)
        var description: String {
            switch self {
            case .failed(let reason): reason
            }
        }
    }

    /// The document at `url`, retried `maxRetries` times on failures other than a 4xx answer. The attempts share
    /// one deadline, `timeoutSeconds` from now: a slow provider never holds a request waiting on its keys longer.
    func fetch(_ url: String, accept: String = "application/jwk-set+json, application/json") async throws(Failure) -> Fetched {
        var lastError = "no attempt was made"
        let deadline = NIODeadline.now() + .seconds(Int64(client.timeoutSeconds))
        for attempt in 0...client.maxRetries {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 * (1 << min(attempt - 1, 4)))) }
            guard NIODeadline.now() < deadline else {
                lastError += " (no time left for another attempt within \(client.timeoutSeconds) s)"
                break
            }
            do {
                return try await fetchOnce(url, accept: accept, deadline: deadline)
            } catch {
                lastError = error.description
                if case .failed(let reason) = error, reason.hasPrefix("HTTP 4") { break }
            }
        }
        throw .failed("fetching \(url) failed: \(lastError)")
    }

    private func fetchOnce(_ url: String, accept: String, deadline: NIODeadline) async throws(Failure) -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: accept)
        let answer = try await send(request, deadline: deadline)
        guard answer.status == .ok else { throw Failure.failed("HTTP \(answer.status.code)") }
        return Fetched(body: answer.body, maxAgeSeconds: Self.maxAge(answer.headers[canonicalForm: "cache-control"]))
    }

    /// What a provider answered: any status, the body up to 1 MiB.
    struct Answer: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: Data
    }

    /// Sends `request` once with the client settings' TLS trust and timeout (or an earlier deadline).
    func send(_ request: HTTPClientRequest, deadline: NIODeadline? = nil) async throws(Failure) -> Answer {
        var request = request
        do {
            request.tlsConfiguration = try tlsConfiguration()
        } catch {
            throw .failed("the CA bundle cannot be used: \(error)")
        }
        do {
            let response = try await http.execute(request, deadline: deadline ?? .now() + .seconds(Int64(client.timeoutSeconds)))
            let body = try await response.body.collect(upTo: 1 << 20)
            return Answer(status: response.status, headers: response.headers, body: Data(body.readableBytesView))
        } catch {
            throw .failed(String(describing: error))
        }
    }

    private func tlsConfiguration() throws -> TLSConfiguration? {
        guard client.insecureSkipVerify || client.caBundle != nil else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if client.insecureSkipVerify { tls.certificateVerification = .none }
        if let bundle = client.caBundle {
            let certificates =
                bundle.hasPrefix("/")
                ? try NIOSSLCertificate.fromPEMFile(bundle)
                : try NIOSSLCertificate.fromPEMBytes(Array(bundle.utf8))
            tls.trustRoots = .certificates(certificates)
        }
        return tls
    }

    static func maxAge(_ values: [Substring]) -> Int? {
        for value in values {
            for directive in value.split(separator: ",") {
                let parts = directive.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == "max-age", let seconds = Int(parts[1]) { return seconds }
            }
        }
        return nil
    }
}
