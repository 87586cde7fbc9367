import Foundation
import HTTPTypes
import Hummingbird
import PorticoCore

/// Finds the token in the configured places, in order: header, query, form field of a urlencoded body, cookie.
struct TokenExtractor {
    let sources: [JWTConfig.TokenSource]

    /// A form body is read (up to this size) only when a form source is configured and no earlier source had a token.
    static let formBodyLimit = 1 << 20

    struct Found {
        let token: String
        let source: JWTConfig.TokenSource
    }

    enum Failure: Error {
        case formTooLarge
    }

    /// Reads the body into memory only for a form source; the request then carries the collected body onward.
    func extract(from request: inout Request, context: some RequestContext) async throws(Failure) -> Found? {
        for source in sources {
            switch source {
            case .header(let name):
                guard let fieldName = HTTPField.Name(name), let value = request.headers[fieldName] else { continue }
                if fieldName == .authorization {
                    if let bearer = BearerCredential(value) { return Found(token: String(bearer.token), source: source) }
                } else {
                    let raw = value.trimmingCharacters(in: .whitespaces)
                    let token = BearerCredential(raw).map { String($0.token) } ?? raw
                    if !token.isEmpty { return Found(token: token, source: source) }
                }
            case .query(let name):
                if let query = request.uri.query, let token = URLEncodedForm.value(of: name, in: query), !token.isEmpty {
                    return Found(token: token, source: source)
                }
            case .form(let name):
                guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/x-www-form-urlencoded") else { continue }
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: Self.formBodyLimit)
                } catch {
                    throw .formTooLarge
                }
                if let token = URLEncodedForm.value(of: name, in: String(buffer: body)), !token.isEmpty {
                    return Found(token: token, source: source)
                }
            case .cookie(let name):
                if let token = CookieHeader.value(of: name, in: request.headers[values: .cookie]), !token.isEmpty {
                    return Found(token: token, source: source)
                }
            }
        }
        return nil
    }
}
