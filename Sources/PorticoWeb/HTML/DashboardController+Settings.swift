import Foundation
import Hummingbird
import PorticoCore
import PorticoStore

/// API keys across users, the auth settings (with the switch preview), and the audit log.
extension DashboardController {
    func addKeyRoutes(to group: RouterGroup<Context>) {
        group.get("keys") { request, context in
            _ = try context.requireAdmin()
            let queries = DashboardQueries(logger: store.database.logger)
            let total = try await store.read { try await queries.keyCount(on: $0) }
            let paging = Paging(page: context.pageNumber(request), total: total)
            let rows = try await store.read { try await queries.keys(limit: Paging.size, offset: paging.offset, on: $0) }
            return renderer.page("keys", title: "API keys", [
                "keys": rows.map { row in keyRow(row.key).merging(["userEmail": row.userEmail, "userId": row.key.userId.uuidString]) { $1 } },
                "paging": paging.dictionary { "/admin/keys?page=\($0)" },
            ], context: context, section: "keys")
        }
        group.get("keys/{id}/revoke") { request, context in
            _ = try context.requireAdmin()
            let key = try await store.read { try await store.keys.require(try context.id(of: "key"), on: $0) }
            let back = Self.localBack(request.uri.queryParameters.get("back"))
            return renderer.page("confirm", title: "Revoke key?", [
                "question": "Revoke key \(key.name) (\(key.prefix)…)? The gateway refuses it at once; this cannot be undone.",
                "action": "/admin/keys/\(key.id)/revoke", "button": "Revoke key", "back": back, "backField": back,
            ], context: context, section: "keys")
        }
        group.post("keys/{id}/revoke") { _, context in
            _ = try context.requireAdmin()
            let key = try await keys.revoke(try context.id(of: "key"), by: context.actor)
            let back = Self.localBack(context.web.form.text("back"))
            return PageRenderer.redirect(to: back, flash: "Revoked key \(key.name) (\(key.prefix)…).", context: context)
        }
    }

    /// Where to go back to: only a dashboard path, never another site.
    static func localBack(_ path: String?) -> String {
        guard let path, path.hasPrefix("/admin/"), !path.hasPrefix("//") else { return "/admin/keys" }
        return path
    }

    func addAuditRoutes(to group: RouterGroup<Context>) {
        group.get("audit") { request, context in
            _ = try context.requireAdmin()
            let total = try await store.read { try await DashboardQueries(logger: store.database.logger).auditCount(on: $0) }
            let paging = Paging(page: context.pageNumber(request), total: total)
            let entries = try await store.read { try await store.audit.recent(limit: Paging.size, offset: paging.offset, on: $0) }
            return renderer.page("audit", title: "Audit log", [
                "entries": entries.map { entry in
                    [
                        "at": Format.date(entry.at), "actor": entry.actor, "action": entry.action,
                        "entity": entry.entityType + (entry.entityId.map { " " + $0 } ?? ""),
                        "before": entry.before ?? "", "after": entry.after ?? "",
                    ] as [String: Any]
                },
                "paging": paging.dictionary { "/admin/audit?page=\($0)" },
            ], context: context, section: "audit")
        }
    }

    // MARK: auth settings

    func addAuthRoutes(to group: RouterGroup<Context>) {
        group.get("auth") { _, context in
            _ = try context.requireAdmin()
            let current = try await authSettings.current()
            return try await authPage(values: AuthSettingsForm.values(of: current), context: context)
        }
        group.post("auth") { _, context in
            _ = try context.requireAdmin()
            let form = context.web.form
            do {
                let input = try AuthSettingsForm.input(from: form)
                let current = try await authSettings.current()
                if current.mode == .apiKey, input.mode == .jwt, !form.isChecked("confirmed") {
                    let preview = try await authSettings.preview(input)
                    return renderer.page("auth-confirm", title: "Switch to JWT mode?", [
                        "keysToTurnOff": preview.keysToTurnOff, "usersLosingAccess": preview.usersLosingAccess,
                        "keys": preview.keys.map { ["name": $0.name, "prefix": $0.prefix, "user": $0.userEmail] },
                        "users": preview.users.map { ["email": $0.email] },
                        "hidden": form.values.filter { $0.key != "_csrf" && $0.key != "confirmed" }.sorted { $0.key < $1.key }
                            .map { ["name": $0.key, "value": $0.value] },
                    ], context: context, section: "auth")
                }
                let update = try await authSettings.update(input, by: context.actor)
                var message = "Saved the auth settings."
                if let off = update.keysTurnedOff { message += " JWT mode is on; \(off) API key\(off == 1 ? " was" : "s were") turned off." }
                if let on = update.keysTurnedOn { message += " API-key mode is on; \(on) key\(on == 1 ? " was" : "s were") turned back on." }
                return PageRenderer.redirect(to: "/admin/auth", flash: message, context: context)
            } catch {
                guard var feedback = FormFeedback.from(error, values: form.values) else { throw error }
                for source in ["signingSecret", "publicKey", "jwksFile", "jwksUrl"] where feedback.errors["jwt_" + source] != nil {
                    feedback.errors["keyValue"] = feedback.errors["jwt_" + source]
                }
                return try await authPage(values: form.values, feedback: feedback, context: context)
            }
        }
    }

    func authPage(values formValues: [String: String], feedback: FormFeedback? = nil, context: Context) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        values["values"] = formValues
        let mode = formValues["mode"] ?? "api_key"
        values["modeJWT"] = mode == "jwt"
        values["modeKey"] = mode != "jwt"
        values["sources"] = ["signingSecret", "publicKey", "jwksFile", "jwksUrl"].map { ["value": $0, "selected": $0 == formValues["keySource"]] }
        values["strictnesses"] = ["strict", "optional", "permissive"].map { ["value": $0, "selected": $0 == (formValues["strictness"] ?? "strict")] }
        values["base64Checked"] = formValues["signingSecretBase64Encoded"] != nil
        values["stripChecked"] = formValues["stripAuthorizationHeader"] != nil
        return renderer.page("auth", title: "Auth settings", values, context: context, section: "auth", status: feedback == nil ? .ok : .unprocessableContent)
    }
}

/// The auth settings as one flat HTML form, and back.
enum AuthSettingsForm {
    static func values(of view: AuthSettingsView) -> [String: String] {
        var values: [String: String] = [
            "mode": view.mode.rawValue, "groups": view.claimsMapping.groups, "userId": view.claimsMapping.userId,
            "email": view.claimsMapping.email ?? "", "tokenName": view.claimsMapping.tokenName ?? "",
        ]
        guard let jwt = view.jwt else {
            values["keySource"] = "signingSecret"
            values["header"] = "Authorization"
            return values
        }
        for (source, value) in [("signingSecret", jwt.signingSecret), ("publicKey", jwt.publicKey), ("jwksFile", jwt.jwksFile), ("jwksUrl", jwt.jwksUrl)] {
            guard let value else { continue }
            values["keySource"] = source
            // A stored secret is never sent to the browser; an empty field keeps it.
            values["keyValue"] = value == "set" ? "" : value
            if value == "set" { values["secretIsSet"] = "1" }
        }
        if jwt.signingSecretBase64Encoded == true { values["signingSecretBase64Encoded"] = "on" }
        values["algorithms"] = jwt.algorithms?.joined(separator: ", ") ?? ""
        values["issuers"] = ([jwt.issuer].compactMap { $0 } + (jwt.issuers ?? [])).joined(separator: ", ")
        values["audiences"] = jwt.audiences?.joined(separator: ", ") ?? ""
        values["leewaySeconds"] = jwt.leewaySeconds.map(String.init) ?? ""
        values["jwksCacheSeconds"] = jwt.jwksCacheSeconds.map(String.init) ?? ""
        values["header"] = jwt.tokenSources?.header ?? (jwt.tokenSources == nil ? "Authorization" : "")
        values["query"] = jwt.tokenSources?.query ?? ""
        values["formField"] = jwt.tokenSources?.form ?? ""
        values["cookie"] = jwt.tokenSources?.cookie ?? ""
        values["forwardHeaders"] = (jwt.forwardHeaders ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
        if jwt.stripAuthorizationHeader == true { values["stripAuthorizationHeader"] = "on" }
        values["claims"] = jwt.claims ?? ""
        values["strictness"] = jwt.strictness?.rawValue ?? "strict"
        values["anonymousGroup"] = jwt.anonymousGroup ?? ""
        values["usernameClaim"] = jwt.usernameClaim ?? ""
        return values
    }

    static func input(from form: FormValues) throws(PorticoError) -> AuthSettingsInput {
        guard let mode = AuthMode(rawValue: form.text("mode") ?? "api_key") else {
            throw PorticoError.invalid(field: "mode", reason: "must be api_key or jwt")
        }
        let mapping = ClaimsMapping(
            groups: form.text("groups") ?? "groups", userId: form.text("userId") ?? "sub", email: form.text("email"),
            tokenName: form.text("tokenName"))
        let source = form.text("keySource") ?? "signingSecret"
        let keyValue = form.text("keyValue")
        // Nothing typed for the key and nothing stored: in API-key mode the JWT settings are simply left unset.
        if keyValue == nil, !(source == "signingSecret" && form.isChecked("secretIsSet")), mode == .apiKey {
            return AuthSettingsInput(mode: mode, jwt: .some(nil), claimsMapping: mapping)
        }
        var jwt = JWTSettings()
        switch source {
        case "signingSecret": jwt.signingSecret = keyValue ?? "set"
        case "publicKey": jwt.publicKey = keyValue
        case "jwksFile": jwt.jwksFile = keyValue
        case "jwksUrl": jwt.jwksUrl = keyValue
        default: throw PorticoError.invalid(field: "keySource", reason: "must be signingSecret, publicKey, jwksFile or jwksUrl")
        }
        if form.isChecked("signingSecretBase64Encoded") { jwt.signingSecretBase64Encoded = true }
        jwt.algorithms = list(form.text("algorithms"))
        let issuers = list(form.text("issuers")) ?? []
        jwt.issuer = issuers.first
        jwt.issuers = issuers.count > 1 ? Array(issuers.dropFirst()) : nil
        jwt.audiences = list(form.text("audiences"))
        jwt.leewaySeconds = try number(form.text("leewaySeconds"), field: "jwt.leewaySeconds")
        jwt.jwksCacheSeconds = try number(form.text("jwksCacheSeconds"), field: "jwt.jwksCacheSeconds")
        jwt.tokenSources = .init(header: form.text("header"), query: form.text("query"), form: form.text("formField"), cookie: form.text("cookie"))
        var forwards: [String: String] = [:]
        for line in (form["forwardHeaders"] ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                throw PorticoError.invalid(field: "jwt.forwardHeaders", reason: "'\(line)' is not 'Header: claim'")
            }
            forwards[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        jwt.forwardHeaders = forwards.isEmpty ? nil : forwards
        jwt.stripAuthorizationHeader = form.isChecked("stripAuthorizationHeader")
        jwt.claims = form.text("claims")
        jwt.strictness = form.text("strictness").flatMap(JWTSettings.Strictness.init(rawValue:))
        jwt.anonymousGroup = form.text("anonymousGroup")
        jwt.usernameClaim = form.text("usernameClaim")
        return AuthSettingsInput(mode: mode, jwt: .some(jwt), claimsMapping: mapping)
    }

    private static func list(_ text: String?) -> [String]? {
        let items = (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return items.isEmpty ? nil : items
    }

    private static func number(_ text: String?, field: String) throws(PorticoError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text) else { throw PorticoError.invalid(field: field, reason: "'\(text)' is not a whole number") }
        return value
    }
}
