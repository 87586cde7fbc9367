import AsyncHTTPClient
import Foundation
import NIOCore
import PorticoCatalog
import PorticoCore

/// Fetches an API's OpenAPI document from its `openapiUrl`: an absolute URL, or a path on the API's upstream.
public struct APIDocumentFetcher: Sendable {
    let http: HTTPClient
    let timeout: Duration

    /// One client for every document fetch, living as long as the process: a refused connection fails at once
    /// (rather than being tried again until the deadline), and up to three redirects are followed.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(http: HTTPClient = Self.sharedClient, timeout: Duration = .seconds(10)) {
        self.http = http
        self.timeout = timeout
    }

    /// The absolute URL `openapiUrl` names for an API served by `upstream`.
    public static func resolve(_ openapiUrl: String, upstream: String) throws(PorticoError) -> String {
        guard openapiUrl.hasPrefix("/") else { return openapiUrl }
        let base = try Upstream(upstream)
        return base.origin + base.basePath + openapiUrl
    }

    /// The document `api.openapiUrl` names, fetched and checked; nil when the API has none. Any failure is a 422
    /// on `openapiUrl`.
    func document(of api: APIDefinition) async throws(PorticoError) -> FetchedDocument? {
        guard let openapiUrl = api.openapiUrl else { return nil }
        let url = try Self.resolve(openapiUrl, upstream: api.upstream)
        let text = try await fetch(url)
        do {
            return FetchedDocument(document: try APIDocument(parsing: text), url: url)
        } catch .invalid(let field, let reason) {
            throw .invalid(field: "openapiUrl", reason: "the document at \(url) is not usable: \(field): \(reason)")
        }
    }

    /// The document's text; any failure is a 422 on `openapiUrl` saying what went wrong.
    public func fetch(_ url: String) async throws(PorticoError) -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/openapi+json, application/json, application/yaml, text/yaml, */*;q=0.5")
        do {
            let response = try await http.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
            guard response.status == .ok else {
                throw PorticoError.invalid(field: "openapiUrl", reason: "fetching \(url) answered HTTP \(response.status.code)")
            }
            let body = try await response.body.collect(upTo: APIDocument.maxBytes)
            return String(decoding: body.readableBytesView, as: UTF8.self)
        } catch let error as PorticoError {
            throw error
        } catch is NIOTooManyBytesError {
            throw .invalid(field: "openapiUrl", reason: "the document at \(url) is larger than \(APIDocument.maxBytes >> 20) MiB")
        } catch {
            throw .invalid(field: "openapiUrl", reason: "fetching \(url) failed: \(error)")
        }
    }
}
