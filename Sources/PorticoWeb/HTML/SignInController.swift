import Foundation
import Hummingbird
import PorticoCore
import PorticoStore

/// Sign-in and sign-out, the same for the dashboard (admins only) and the portal: with a password (unless turned
/// off) or through the identity providers offered for the area. A sign-in that was asked for by a page goes back to
/// that page.
struct SignInController {
    typealias Context = AdminRequestContext

    let area: WebArea
    let renderer: PageRenderer
    let signIn: SignInService
    let providers: ProviderSignInService
    /// `PORTICO_PASSWORD_SIGN_IN=false` leaves only the identity providers (and `portico admin create`).
    let passwordSignIn: Bool

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("sign-in") { request, context in
            try await page(context: context, returnTo: area.returnPath(request.uri.queryParameters.get("return")))
        }
        group.post("sign-in") { _, context in try await submitted(context: context) }
        group.get("sign-in/oidc/{provider}") { request, context in try await startProviderSignIn(request, context: context) }
        group.post("sign-out") { request, context in try await signOut(request, context: context) }
    }

    func page(context: Context, returnTo: String?, feedback: FormFeedback? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        values["action"] = area.signInPath
        values["returnTo"] = returnTo ?? ""
        values["passwordSignIn"] = passwordSignIn
        let choices = try await providers.choices(for: area.providerArea)
        values["providers"] = choices.map { name in
            ["name": name, "href": area.signInPath + "/oidc/" + Format.query(name) + (returnTo.map { "?return=" + Format.query($0) } ?? "")]
        }
        values["hasProviders"] = !choices.isEmpty
        return renderer.page(area.signInTemplate, title: "Sign in", values, context: context, status: status)
    }

    func submitted(context: Context) async throws -> Response {
        guard passwordSignIn else {
            throw PorticoError.forbidden("Signing in with a password is turned off here; sign in through an identity provider")
        }
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
            return try await page(context: context, returnTo: returnTo, feedback: feedback, status: .unauthorized)
        case .locked(let minutes):
            var feedback = FormFeedback(values: ["email": email])
            feedback.errors["form"] = "Too many failed sign-ins. Sign-in is refused for \(minutes) minute\(minutes == 1 ? "" : "s"); try again later."
            return try await page(context: context, returnTo: returnTo, feedback: feedback, status: .tooManyRequests)
        }
    }

    /// Sends the browser to the provider. The flow cookie is the browser's, reused by every flow it starts, so two
    /// tabs signing in at once each finish their own flow.
    func startProviderSignIn(_ request: Request, context: Context) async throws -> Response {
        let name = context.parameters.get("provider") ?? ""
        let existing = request.cookies[WebCookies.signInFlow]?.value
        let browserSecret = existing.flatMap { SecretFormat.signInFlow.matches($0) ? $0 : nil } ?? SecretFormat.signInFlow.generate().secret
        let location = try await providers.start(
            provider: name, area: area.providerArea, returnTo: area.returnPath(request.uri.queryParameters.get("return")),
            browserSecret: browserSecret)
        var response = PageRenderer.redirect(to: location, context: context)
        response.withholdReferrer()
        if existing != browserSecret {
            response.setCookie(
                WebCookies.make(
                    WebCookies.signInFlow, value: browserSecret, secure: context.web.secureCookies, maxAge: SignInFlowRepository.lifetimeSeconds))
        }
        return response
    }

    /// Ends Portico's session and, for a session that came from a provider with an end-session endpoint, sends the
    /// browser there to end the provider's too. That hop is a page that moves on by itself rather than a redirect:
    /// the pages' `form-action 'self'` forbids a form's redirect to another site.
    func signOut(_ request: Request, context: Context) async throws -> Response {
        var providerSignOut: (provider: String, location: String)?
        if let secret = request.cookies[WebCookies.session]?.value, let ended = try await signIn.signOut(cookieSecret: secret) {
            providerSignOut = try? await providers.providerSignOut(
                providerId: ended.providerId, sealedIdToken: ended.sealedIdToken, returnPath: area.signInPath)
        }
        var response: Response
        if let providerSignOut {
            var signedOut = context
            signedOut.web.signedIn = nil
            response = renderer.page(
                area == .portal ? "portal-signed-out" : "signed-out", title: "Signed out",
                ["provider": providerSignOut.provider, "continueTo": providerSignOut.location], context: signedOut)
            response.withholdReferrer()
        } else {
            response = PageRenderer.redirect(to: area.signInPath, flash: "Signed out.", context: context)
        }
        response.setCookie(WebCookies.clear(WebCookies.session, secure: context.web.secureCookies))
        return response
    }
}

extension WebArea {
    var providerArea: ProviderSignInService.Area {
        switch self {
        case .dashboard: .dashboard
        case .portal: .portal
        }
    }

    init(_ area: ProviderSignInService.Area) {
        switch area {
        case .dashboard: self = .dashboard
        case .portal: self = .portal
        }
    }
}
