import NIOCore
import NIOHTTP1
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

    enum Result {
        case found(Found)
        case none
        /// A form source comes next and the body has not been read yet.
        case needsFormBody
    }

    func extract(from request: GatewayRequest) -> Result {
        for source in sources {
            switch source {
            case .header(let name):
                guard let value = request.headers.first(name: name) else { continue }
                if name.equalsIgnoringASCIICase(HeaderNames.authorization) {
                    if let bearer = BearerCredential(value) { return .found(Found(token: String(bearer.token), source: source)) }
                } else {
                    let raw = value.trimmingCharacters(in: .whitespaces)
                    let token = BearerCredential(raw).map { String($0.token) } ?? raw
                    if !token.isEmpty { return .found(Found(token: token, source: source)) }
                }
            case .query(let name):
                if let query = request.query, let token = URLEncodedForm.value(of: name, in: query), !token.isEmpty {
                    return .found(Found(token: token, source: source))
                }
            case .form(let name):
                guard Self.isForm(request.headers) else { continue }
                guard let body = request.formBody else { return .needsFormBody }
                if let token = URLEncodedForm.value(of: name, in: String(buffer: body)), !token.isEmpty {
                    return .found(Found(token: token, source: source))
                }
            case .cookie(let name):
                if let token = CookieHeader.value(of: name, in: request.headers[HeaderNames.cookie]), !token.isEmpty {
                    return .found(Found(token: token, source: source))
                }
            }
        }
        return .none
    }

    static func isForm(_ headers: RequestFields) -> Bool {
        headers.first(name: HeaderNames.contentType)?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
    }
}
