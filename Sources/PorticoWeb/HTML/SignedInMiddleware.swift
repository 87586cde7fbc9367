import Hummingbird
import PorticoCore

/// Lets only signed-in users through to an area's pages, and in the dashboard only admins. A browser without a
/// session is sent to sign in and brought back to the page it asked for; a consumer in the dashboard gets a 403 page.
struct SignedInMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let area: WebArea

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let user = context.web.user else {
            // Only a page can be come back to; a form posted after the session ended starts again from the home page.
            let page = request.method == .get ? request.uri.description : nil
            throw WebError.signInRequired(area.signInLocation(returningTo: page))
        }
        if area == .dashboard, user.role != .admin {
            throw PorticoError.forbidden("this page is for admins; consumers have the portal at /portal")
        }
        return try await next(request, context)
    }
}
