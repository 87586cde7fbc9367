import Foundation
import Hummingbird
import PorticoCore
import PorticoGateway
import PorticoStore

/// The admin dashboard under `/admin`: thin handlers over the same services as the JSON API.
struct DashboardController {
    typealias Context = AdminRequestContext

    let renderer: PageRenderer
    let store: AdminStore
    let signIn: SignInService
    let users: UserService
    let groups: GroupService
    let apis: APIService
    let accesses: AccessService
    let keys: KeyService
    let invitations: InvitationService
    let authSettings: AuthSettingsService
    let policy: PolicyHolder
    let gatewayMetrics: GatewayMetrics

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("sign-in") { _, context in signInPage(context: context) }
        group.post("sign-in") { request, context in try await signInSubmitted(request, context: context, home: "/admin") }
        group.post("sign-out") { request, context in try await signOut(request, context: context, to: "/admin/sign-in") }
        group.get { _, context in try await overview(context: context) }
        addUserRoutes(to: group)
        addGroupRoutes(to: group)
        addAPIRoutes(to: group)
        addAccessRoutes(to: group)
        addKeyRoutes(to: group)
        addAuthRoutes(to: group)
        addAuditRoutes(to: group)
    }

    // MARK: sign-in

    func signInPage(context: Context, area: String = "admin", feedback: FormFeedback? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var values = feedback?.dictionary ?? [:]
        values["action"] = "/\(area)/sign-in"
        return renderer.page(area == "admin" ? "sign-in" : "portal-sign-in", title: "Sign in", values, context: context, status: status)
    }

    func signInSubmitted(_ request: Request, context: Context, home: String) async throws -> Response {
        let form = context.web.form
        let email = form.text("email") ?? ""
        let area = home == "/admin" ? "admin" : "portal"
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        switch try await signIn.signIn(email: email, password: form["password"] ?? "", address: address) {
        case .signedIn(let user, let secret):
            if area == "admin", user.role != .admin {
                try await signIn.signOut(cookieSecret: secret)
                throw PorticoError.forbidden("\(user.email) is not an admin; consumers sign in at /portal")
            }
            var response = PageRenderer.redirect(to: home, context: context)
            response.setCookie(WebCookies.make(WebCookies.session, value: secret, secure: context.web.secureCookies))
            return response
        case .refused(let message):
            var feedback = FormFeedback(values: ["email": email])
            feedback.errors["form"] = message
            return signInPage(context: context, area: area, feedback: feedback, status: .unauthorized)
        case .locked(let minutes):
            var feedback = FormFeedback(values: ["email": email])
            feedback.errors["form"] = "Too many failed sign-ins. Sign-in is refused for \(minutes) minute\(minutes == 1 ? "" : "s"); try again later."
            return signInPage(context: context, area: area, feedback: feedback, status: .tooManyRequests)
        }
    }

    func signOut(_ request: Request, context: Context, to location: String) async throws -> Response {
        if let secret = request.cookies[WebCookies.session]?.value { try await signIn.signOut(cookieSecret: secret) }
        var response = PageRenderer.redirect(to: location, flash: "Signed out.", context: context)
        response.setCookie(WebCookies.clear(WebCookies.session, secure: context.web.secureCookies))
        return response
    }

    // MARK: overview

    func overview(context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        let counts = try await store.read { try await DashboardQueries(logger: store.database.logger).counts(on: $0) }
        let mode = try await authSettings.current().mode
        let traffic = gatewayMetrics.requestsByStatus()
        return renderer.page("overview", title: "Overview", [
            "counts": [
                "users": counts.users, "tokenUsers": counts.tokenUsers, "groups": counts.groups, "apis": counts.apis,
                "accesses": counts.accesses, "activeKeys": counts.activeKeys,
            ],
            "policyVersion": policy.isLoaded ? String(policy.snapshot.version) : "not loaded",
            "mode": mode == .jwt ? "JWT" : "API key",
            "traffic": traffic.map { ["status": $0.status, "count": $0.count] },
            "hasTraffic": !traffic.isEmpty,
        ], context: context, section: "overview")
    }
}
