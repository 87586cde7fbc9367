import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A cookie-keeping client of the dashboard and portal for `.router` tests: it remembers the last page's CSRF
/// token and sends it with the next form, as a browser does.
public final class WebClient: @unchecked Sendable {
    let client: any TestClientProtocol
    public private(set) var cookies: [String: String] = [:]
    public private(set) var lastPage = ""

    public init(_ client: any TestClientProtocol) { self.client = client }

    public struct Page: Sendable {
        public let status: Int
        public let headers: HTTPFields
        public let html: String

        public var location: String? { headers[.location] }
        public func contains(_ text: String) -> Bool { html.contains(text) }
        /// The page's text with the entities Mustache writes for quotes and ampersands read back.
        public var text: String {
            html.replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(
                of: "&amp;", with: "&")
        }
    }

    @discardableResult
    public func get(_ path: String) async throws -> Page {
        try await send(.get, path, body: nil)
    }

    /// Posts `fields` as a form, with the CSRF token of the last page unless `csrf` is given.
    @discardableResult
    public func post(_ path: String, _ fields: [(String, String)] = [], csrf: String? = nil) async throws -> Page {
        let token = csrf ?? csrfToken ?? ""
        let all = [("_csrf", token)] + fields
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(.post, path, body: body)
    }

    public var csrfToken: String? { Self.formToken(in: lastPage) }

    /// The CSRF token a page's forms carry (their hidden `_csrf` field).
    public static func formToken(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    public func forget(_ cookie: String) { cookies[cookie] = nil }
    public func setCookie(_ name: String, _ value: String) { cookies[name] = value }

    private func send(_ method: HTTPRequest.Method, _ path: String, body: String?) async throws -> Page {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let page = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            Page(status: Int(response.status.code), headers: response.headers, html: String(buffer: response.body))
        }
        for value in page.headers[values: .setCookie] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = String(pair[0])
            if value.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = String(pair[1]) }
        }
        if page.headers[.contentType]?.hasPrefix("text/html") == true { lastPage = page.html }
        return page
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
