import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore
import ServiceLifecycle

public struct UpstreamTimeouts: Sendable {
    public var connect: Duration
    /// Longest silence while waiting for the upstream's response (head or body); past it → 504.
    public var read: Duration

    public init(connect: Duration = .seconds(2), read: Duration = .seconds(30)) {
        self.connect = connect
        self.read = read
    }
}

/// Forwards a request to an upstream with the request and response bodies streamed, never buffered.
public struct UpstreamProxy: Sendable {
    let client: HTTPClient

    /// Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host",
    ]

    public init(client: HTTPClient) {
        self.client = client
    }

    public static func makeClient(timeouts: UpstreamTimeouts) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .nanoseconds(timeouts.connect.nanoseconds), read: .nanoseconds(timeouts.read.nanoseconds))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        // A refused upstream is answered with a 502 at once instead of retrying until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public enum Failure: Error {
        case unreachable(String)
        case timeout
    }

    public func forward(
        _ request: Request, to api: GatewayAPI, clientAddress: String?, changes: UpstreamRequestChanges = .init()
    ) async throws(Failure) -> Response {
        var target = api.upstream.origin + api.upstreamPath(for: request.uri.path)
        if let query = changes.query ?? request.uri.query, !query.isEmpty { target += "?" + query }
        var upstreamRequest = HTTPClientRequest(url: target)
        upstreamRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        upstreamRequest.headers = Self.forwardedHeaders(request, clientAddress: clientAddress, changes: changes)
        if let length = request.headers[.contentLength].flatMap(Int64.init) {
            if length > 0 { upstreamRequest.body = .stream(request.body, length: .known(length)) }
        } else if request.headers[.transferEncoding] != nil {
            upstreamRequest.body = .stream(request.body, length: .unknown)
        }

        let response: HTTPClientResponse
        do {
            // No overall deadline: it would cut long downloads short. Silence is bounded by the read timeout.
            response = try await client.execute(upstreamRequest, timeout: .hours(24))
        } catch let error as HTTPClientError where error == .readTimeout || error == .connectTimeout || error == .deadlineExceeded {
            throw .timeout
        } catch {
            throw .unreachable(String(describing: error))
        }
        var headers = HTTPFields()
        for (name, value) in response.headers {
            guard !Self.hopByHop.contains(name.lowercased()), let fieldName = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers,
            body: ResponseBody(asyncSequence: response.body))
    }

    static func forwardedHeaders(_ request: Request, clientAddress: String?, changes: UpstreamRequestChanges = .init()) -> HTTPHeaders {
        var connectionTokens = Set<String>()
        for value in request.headers[values: .connection] {
            for token in value.split(separator: ",") { connectionTokens.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        var headers = HTTPHeaders()
        for field in request.headers {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || connectionTokens.contains(name) { continue }
            if name == "x-forwarded-for" || name == "x-forwarded-proto" || name == "x-forwarded-host" { continue }
            if changes.removedHeaders.contains(name) { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        for (name, value) in changes.addedHeaders { headers.add(name: name, value: value) }
        let priorFor = request.headers[values: HeaderNames.forwardedFor].joined(separator: ", ")
        if let clientAddress {
            headers.add(name: "X-Forwarded-For", value: priorFor.isEmpty ? clientAddress : priorFor + ", " + clientAddress)
        } else if !priorFor.isEmpty {
            headers.add(name: "X-Forwarded-For", value: priorFor)
        }
        headers.add(name: "X-Forwarded-Proto", value: "http")
        if let host = request.head.authority {
            headers.add(name: "X-Forwarded-Host", value: host)
        }
        return headers
    }
}

/// What the gateway changes on the way upstream: credentials taken out, claims put in.
public struct UpstreamRequestChanges: Sendable {
    /// Lowercased names of client headers not to forward.
    public var removedHeaders: Set<String> = []
    public var addedHeaders: [(name: String, value: String)] = []
    /// The query to send instead of the client's; `.some(nil)` sends none.
    public var query: String?? = nil

    public init() {}
}

/// Owns the upstream client's lifetime: shut down after the gateway stopped taking requests.
public struct HTTPClientService: Service {
    let client: HTTPClient

    public init(client: HTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
