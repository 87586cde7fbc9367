import Foundation
import Hummingbird
import PorticoCore

/// Sign-in and sign-out, the same for the dashboard (admins only) and the portal. A sign-in that was asked for
/// by a page goes back to that page.
struct SignInController {
    typealias Context = AdminRequestContext

    let area: WebArea
    let renderer: PageRenderer
    let signIn: SignInService

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("sign-in") { request, context in
            page(context: context, returnTo: area.returnPath(request.uri.queryParameters.get("return")))
        }
        group.post("sign-in") { _, context in try await submitted(context: context) }
        group.post("sign-out") { request, context in try await signOut(request, context: context) }
    }

    func page(context: Context, returnTo: String?, feedback: FormFeedback? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var values = feedback?.dictionary ?? [:]
        values["action"] = area.signInPath
        values["returnTo"] = returnTo ?? ""
        return renderer.page(area.signInTemplate, title: "Sign in", values, context: context, status: status)
    }

    func submitted(context: Context) async throws -> Response {
        let form = context.web.form
        let email = form.text("email") ?? ""
        let returnTo = area.returnPath(form.text("return"))
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        switch try await signIn.signIn(email: email, password: form["password"] ?? "", address: address) {
        case .signedIn(let user, let secret):
            if area == .dashboard, user.role != .admin {
                try await signIn.signOut(cookieSecret: secret)
                throw PorticoError.forbidden("\(user.email) is not an admin; consumers sign in at /portal")
            }
            var response = PageRenderer.redirect(to: returnTo ?? area.home, context: context)
            response.setCookie(WebCookies.make(WebCookies.session, value: secret, secure: context.web.secureCookies))
            return response
        case .refused(let message):
            var feedback = FormFeedback(values: ["email": email])
            feedback.errors["form"] = message
            return page(context: context, returnTo: returnTo, feedback: feedback, status: .unauthorized)
        case .locked(let minutes):
            var feedback = FormFeedback(values: ["email": email])
            feedback.errors["form"] = "Too many failed sign-ins. Sign-in is refused for \(minutes) minute\(minutes == 1 ? "" : "s"); try again later."
            return page(context: context, returnTo: returnTo, feedback: feedback, status: .tooManyRequests)
        }
    }

    func signOut(_ request: Request, context: Context) async throws -> Response {
        if let secret = request.cookies[WebCookies.session]?.value { try await signIn.signOut(cookieSecret: secret) }
        var response = PageRenderer.redirect(to: area.signInPath, flash: "Signed out.", context: context)
        response.setCookie(WebCookies.clear(WebCookies.session, secure: context.web.secureCookies))
        return response
    }
}
