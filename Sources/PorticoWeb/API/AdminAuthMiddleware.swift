import Hummingbird
import PorticoCore

/// Requires `Authorization: Bearer <admin token>` of an enabled admin: 401 without, 403 for a consumer.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let tokens: AdminTokenService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let credential = BearerCredential(request.headers[.authorization]) else {
            throw PorticoError.unauthenticated("an admin token is required: Authorization: Bearer <token>")
        }
        guard let user = try await tokens.authenticate(credential.token) else {
            throw PorticoError.unauthenticated("the admin token is unknown or revoked")
        }
        guard user.role == .admin, !user.disabled else {
            throw PorticoError.forbidden("\(user.email) is not an enabled admin")
        }
        var context = context
        context.admin = user
        return try await next(request, context)
    }
}
