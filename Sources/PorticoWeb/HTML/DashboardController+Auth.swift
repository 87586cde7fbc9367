import Foundation
import Hummingbird
import PorticoCore

/// The auth settings, with the preview a switch to JWT mode asks to confirm.
extension DashboardController {
    func addAuthRoutes(to group: RouterGroup<Context>) {
        group.get("auth") { _, context in
            let current = try await authSettings.current()
            return try await authPage(values: AuthSettingsForm.values(of: current), trusted: current.trustedProviders, context: context)
        }
        group.post("auth") { _, context in
            let form = context.web.form
            do {
                let input = try AuthSettingsForm.input(from: form)
                let current = try await authSettings.current()
                if current.mode == .apiKey, input.mode == .jwt, !form.isChecked("confirmed") {
                    let preview = try await authSettings.preview(input)
                    return renderer.page(
                        "auth-confirm", title: "Switch to JWT mode?",
                        [
                            "keysToTurnOff": preview.keysToTurnOff, "usersLosingAccess": preview.usersLosingAccess,
                            "keys": preview.keys.map { ["name": $0.name, "prefix": $0.prefix, "user": $0.userEmail] },
                            "users": preview.users.map { ["email": $0.email] },
                            "hidden": form.values.filter { $0.key != "_csrf" && $0.key != "confirmed" }.sorted { $0.key < $1.key }
                                .map { ["name": $0.key, "value": $0.value] },
                        ], context: context, section: "auth")
                }
                let update = try await RowVersion.expecting(Self.openedVersion(form), of: .authSettings, id: nil) {
                    try await authSettings.update(input, by: context.actor)
                }
                var message = "Saved the auth settings."
                if let off = update.keysTurnedOff { message += " JWT mode is on; \(off) API key\(off == 1 ? " was" : "s were") turned off." }
                if let on = update.keysTurnedOn { message += " API-key mode is on; \(on) key\(on == 1 ? " was" : "s were") turned back on." }
                return PageRenderer.redirect(to: "/admin/auth", flash: message, context: context)
            } catch {
                guard var feedback = FormFeedback.from(error, values: form.values) else { throw error }
                for source in ["signingSecret", "publicKey", "jwksFile", "jwksUrl"] where feedback.errors["jwt_" + source] != nil {
                    feedback.errors["keyValue"] = feedback.errors["jwt_" + source]
                }
                return try await authPage(
                    values: form.values, trusted: try await authSettings.current().trustedProviders, feedback: feedback, context: context)
            }
        }
    }

    /// `trusted`: the identity providers JWT mode accepts tokens of, listed beside the settings. The form carries
    /// the settings' version as read now, so a save over someone else's later change is refused.
    func authPage(
        values formValues: [String: String], trusted: [AuthSettingsView.TrustedProvider], feedback: FormFeedback? = nil, context: Context
    ) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.authSettings, id: nil).map(String.init) ?? ""
        values["values"] = formValues
        values["trustedProviders"] = trusted.map { ["name": $0.name, "issuer": $0.issuer] }
        values["hasTrustedProviders"] = !trusted.isEmpty
        let mode = formValues["mode"] ?? "api_key"
        values["modeJWT"] = mode == "jwt"
        values["modeKey"] = mode != "jwt"
        values["sources"] = AuthSettingsForm.keySources.map {
            ["value": $0.value, "label": $0.label, "selected": $0.value == formValues["keySource"]]
        }
        values["strictnesses"] = ["strict", "optional", "permissive"].map { ["value": $0, "selected": $0 == (formValues["strictness"] ?? "strict")] }
        values["base64Checked"] = formValues["signingSecretBase64Encoded"] != nil
        values["stripChecked"] = formValues["stripAuthorizationHeader"] != nil
        return renderer.page(
            "auth", title: "Auth settings", values, context: context, section: "auth", status: feedback == nil ? .ok : .unprocessableContent)
    }
}
