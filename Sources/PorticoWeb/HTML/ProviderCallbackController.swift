import Foundation
import Hummingbird
import PorticoCore

/// Where identity providers send the browser back (`/oidc/{provider}/callback`, one exact redirect URI per
/// provider). The page never leaks the code in a `Referer` and is never cached, whether it signs in or refuses.
struct ProviderCallbackController {
    typealias Context = AdminRequestContext

    let renderer: PageRenderer
    let providers: ProviderSignInService

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("{provider}/callback") { request, context in await callback(request, context: context) }
    }

    func callback(_ request: Request, context: Context) async -> Response {
        var response: Response
        do {
            var parameters: [String: String] = [:]
            for (name, value) in request.uri.queryParameters where parameters[String(name)] == nil {
                parameters[String(name)] = String(value)
            }
            let signedIn = try await providers.finish(
                provider: context.parameters.get("provider") ?? "", parameters: parameters,
                browserSecret: request.cookies[WebCookies.signInFlow]?.value)
            let area = WebArea(signedIn.area)
            response = PageRenderer.redirect(to: area.returnPath(signedIn.returnTo) ?? area.home, context: context)
            response.setCookie(WebCookies.make(WebCookies.session, value: signedIn.cookieSecret, secure: context.web.secureCookies))
        } catch {
            response = ErrorPage.page(for: error, renderer: renderer, context: context)
        }
        response.withholdReferrer()
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
