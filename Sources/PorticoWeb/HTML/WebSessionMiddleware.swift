import Foundation
import Hummingbird
import PorticoCatalog
import PorticoCore

/// For the dashboard and the portal: finds the session behind the cookie, reads a posted form, and refuses a POST
/// whose form does not carry this session's CSRF token (before sign-in, the token of a per-browser cookie: the
/// double-submit pattern), so no other site can post on a signed-in admin's behalf.
struct WebSessionMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let signIn: SignInService
    let secureCookies: Bool
    let renderer: PageRenderer

    static let formLimit = 1 << 20
    /// A pasted OpenAPI document: its largest size, URL-encoded (a byte may take three).
    static let documentFormLimit = 3 * APIDocument.maxBytes + (64 << 10)
    /// A try-it call: its largest body, URL-encoded, and its parameters.
    static let tryItFormLimit = 3 * TryItCall.maxBodyBytes + (64 << 10)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var request = request
        // A TLS-terminating proxy in front of Portico says so in `X-Forwarded-Proto`.
        let behindTLS = request.headers.contains { $0.name.canonicalName.equalsIgnoringASCIICase(HeaderNames.forwardedProto) && $0.value == "https" }
        context.web.secureCookies = secureCookies || behindTLS
        // A session that cannot be looked up (the database is down) is answered with an error page below, not
        // taken for no session.
        var lookupFailure: (any Error)?
        if let secret = request.cookies[WebCookies.session]?.value {
            do { context.web.signedIn = try await signIn.session(cookieSecret: secret) } catch { lookupFailure = error }
        }
        var newBrowserToken: String?
        if let session = context.web.signedIn {
            context.web.csrfToken = session.csrfToken
        } else if let browserToken = request.cookies[WebCookies.csrf]?.value, SecretFormat.csrf.matches(browserToken) {
            context.web.csrfToken = browserToken
        } else {
            let token = SecretFormat.csrf.generate().secret
            newBrowserToken = token
            context.web.csrfToken = token
        }
        let flashCookie = request.cookies[WebCookies.flash]?.value
        if let flashCookie, let bytes = Base64URL.decode(Array(flashCookie.utf8)) {
            context.web.flash = String(decoding: bytes, as: UTF8.self)
        }

        var response: Response
        do {
            if let lookupFailure { throw lookupFailure }
            if request.method == .post {
                let body: ByteBuffer
                let isDocument = request.uri.path.hasSuffix("/openapi")
                let isTryIt = request.uri.path.hasPrefix("/portal/apis/") && request.uri.path.contains("/try/")
                let limit = isDocument ? Self.documentFormLimit : isTryIt ? Self.tryItFormLimit : Self.formLimit
                do {
                    body = try await request.collectBody(upTo: limit)
                } catch {
                    if isDocument { throw PorticoError.tooLarge("the OpenAPI document is larger than \(APIDocument.maxBytes >> 20) MiB") }
                    throw PorticoError.tooLarge("the form is larger than \(limit >> 20) MiB")
                }
                context.web.form = FormValues(String(buffer: body))
                let sent = context.web.form["_csrf"] ?? ""
                guard newBrowserToken == nil, SecretHash(of: sent).constantTimeEquals(SecretHash(of: context.web.csrfToken)) else {
                    throw WebError.csrfRefused
                }
            }
            response = try await next(request, context)
        } catch {
            // Pages for errors are rendered here, inside the session, so they keep the navigation and form token.
            response = ErrorPage.page(for: error, renderer: renderer, context: context)
        }
        if let newBrowserToken {
            response.setCookie(WebCookies.make(WebCookies.csrf, value: newBrowserToken, secure: context.web.secureCookies))
        }
        if flashCookie != nil, response.status != .seeOther {
            response.setCookie(WebCookies.clear(WebCookies.flash, secure: context.web.secureCookies))
        }
        return response
    }
}

enum WebError: Error {
    /// A POST without this session's form token.
    case csrfRefused
    /// A page that needs a signed-in user; carries where to sign in.
    case signInRequired(String)
}

/// The dashboard's and portal's one place where errors become pages: the JSON API's status mapping, as HTML.
enum ErrorPage {
    static func page(for error: Error, renderer: PageRenderer, context: AdminRequestContext) -> Response {
        switch error {
        case WebError.signInRequired(let location):
            return PageRenderer.redirect(to: location, context: context)
        case WebError.csrfRefused:
            return renderer.page(
                "error", title: "Form refused",
                ["message": "This form expired or did not come from Portico. Go back, reload the page and try again."],
                context: context, status: .forbidden)
        case let error as PorticoError:
            let status = JSONErrorMiddleware<AdminRequestContext>.status(of: error)
            return renderer.page("error", title: status.reasonPhrase, ["message": error.message], context: context, status: status)
        case let error as HTTPError:
            return renderer.page(
                "error", title: error.status.reasonPhrase, ["message": error.body ?? error.status.reasonPhrase], context: context,
                status: error.status)
        default:
            context.logger.error("page failed", metadata: ["error": "\(String(reflecting: error))"])
            return renderer.page(
                "error", title: "Something went wrong", ["message": "The page failed; the server log has the details."],
                context: context, status: .internalServerError)
        }
    }
}
