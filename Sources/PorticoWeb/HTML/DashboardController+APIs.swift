import Foundation
import Hummingbird
import PorticoCore

/// APIs: the routes the gateway serves.
extension DashboardController {
    func addAPIRoutes(to group: RouterGroup<Context>) {
        group.get("apis") { request, context in try await apiList(request: request, context: context) }
        group.post("apis") { _, context in
            let form = context.web.form
            do {
                let input = APIInput(
                    name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                    stripPrefix: form.isChecked("stripPrefix"), host: form.text("host"),
                    status: form.text("status").flatMap(APIStatus.init(rawValue:)),
                    forwardCredential: form.isChecked("forwardCredential"), maxBodyBytes: try Self.bodyLimit(form),
                    openapiUrl: form.text("openapiUrl"))
                let api = try await apis.create(input, by: context.actor)
                return PageRenderer.redirect(to: "/admin/apis", flash: "Created API \(api.name) at \(api.pathPrefix).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await apiList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("apis/{id}") { _, context in try await apiDetail(try context.id(of: "API"), context: context) }
        group.post("apis/{id}") { _, context in
            let id = try context.id(of: "API")
            let form = context.web.form
            do {
                let (auth, oidc) = try Self.authentication(from: form, stored: try await apis.get(id).oidc)
                let patch = APIPatch(
                    name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                    stripPrefix: form.isChecked("stripPrefix"), host: .some(form.text("host")),
                    status: form.text("status").flatMap(APIStatus.init(rawValue:)),
                    tokenProviders: .some(form.commaSeparated("tokenProviders")), auth: auth, oidc: oidc,
                    forwardCredential: form.isChecked("forwardCredential"), maxBodyBytes: .some(try Self.bodyLimit(form)),
                    openapiUrl: .some(form.text("openapiUrl")))
                let api = try await RowVersion.expecting(Self.openedVersion(form), of: .apis, id: id) {
                    try await apis.update(id, patch, by: context.actor)
                }
                return PageRenderer.redirect(to: "/admin/apis", flash: "Saved API \(api.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await apiDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "apis", entity: "API", load: apis.get, delete: apis.delete,
                describe: { ($0.name, "Delete API \($0.name) (\($0.pathPrefix))? The gateway stops routing it at once.") }))
        addDocumentRoutes(to: group)
    }

    func apiList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await apis.list(), request: request, context: context, link: "/admin/apis")
        values["apis"] = page.rows.map(PageRows.api)
        values["paging"] = page.paging
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? "published")
        return renderer.page("apis", title: "APIs", values, context: context, section: "apis", status: feedback == nil ? .ok : .unprocessableContent)
    }

    /// `feedback` is for the API's form, `documentFeedback` for the OpenAPI document's.
    func apiDetail(
        _ id: UUID, context: Context, feedback: FormFeedback? = nil, documentFeedback: FormFeedback? = nil, catalogFeedback: FormFeedback? = nil
    ) async throws -> Response {
        let api = try await apis.get(id)
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.apis, id: id).map(String.init) ?? ""
        if feedback == nil {
            values["values"] = [
                "name": api.name, "pathPrefix": api.pathPrefix, "host": api.host ?? "", "upstream": api.upstream,
                "tokenProviders": api.tokenProviders?.joined(separator: ", ") ?? "", "maxBodyBytes": api.maxBodyBytes.map(String.init) ?? "",
                "openapiUrl": api.openapiUrl ?? "",
            ]
        }
        if feedback == nil, var stored = values["values"] as? [String: String] {
            stored["auth"] = api.auth.rawValue
            stored["oidcProvider"] = api.oidc?.provider ?? ""
            stored["oidcRedirectPath"] = api.oidc?.redirectPath ?? "/callback"
            stored["oidcLogoutPath"] = api.oidc?.logoutPath ?? ""
            values["values"] = stored
        }
        let shown = (values["values"] as? [String: String]) ?? feedback?.values ?? [:]
        values["auths"] = [("default", "the auth settings' mode (API keys or JWTs)"), ("oidc", "a session with an identity provider (OIDC)")]
            .map { ["value": $0.0, "label": $0.1, "selected": $0.0 == (shown["auth"] ?? "default")] }
        values["providers"] = try await identityProviders.list().map {
            ["name": $0.settings.name, "selected": $0.settings.name == shown["oidcProvider"]]
        }
        values["api"] = PageRows.api(api)
        values["stripChecked"] = feedback.map { $0.values["stripPrefix"] != nil } ?? api.stripPrefix
        values["forwardChecked"] = feedback.map { $0.values["forwardCredential"] != nil } ?? api.forwardCredential
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? api.status.rawValue)
        values["usage"] = UsageCharts.values(try await usage.lastDays(14, user: nil, api: api), subject: "every consumer")
        values["document"] = try await documentFacts(of: api)
        values["canFetch"] = api.openapiUrl != nil
        if let documentFeedback {
            values["documentError"] = documentFeedback.errors["form"]
            values["documentText"] = documentFeedback.values["document"] ?? ""
        }
        values["catalog"] = try await catalogValues(
            of: id, sent: catalogFeedback == nil ? nil : context.web.form, error: catalogFeedback?.errors["form"])
        let refused = feedback != nil || documentFeedback != nil || catalogFeedback != nil
        return renderer.page(
            "api", title: "API \(api.name)", values, context: context, section: "apis", status: refused ? .unprocessableContent : .ok)
    }

    /// The form's body limit: empty for none, else a whole number of bytes.
    static func bodyLimit(_ form: FormValues) throws(PorticoError) -> Int? {
        guard let text = form.text("maxBodyBytes"), !text.isEmpty else { return nil }
        guard let bytes = Int(text) else { throw PorticoError.invalid(field: "maxBodyBytes", reason: "must be a whole number of bytes, or empty") }
        return bytes
    }

    /// The form's authentication fields; OIDC settings the form does not show (scopes, forwarded claims, session)
    /// are kept as stored.
    static func authentication(from form: FormValues, stored: APIOIDCSettings?) throws -> (APIAuth, APIOIDCSettings??) {
        guard let auth = APIAuth(rawValue: form.text("auth") ?? "default") else {
            throw PorticoError.invalid(field: "auth", reason: "must be default or oidc")
        }
        guard auth == .oidc else { return (auth, .none) }
        var settings = stored ?? APIOIDCSettings(provider: "", redirectPath: "")
        settings.provider = form.text("oidcProvider") ?? ""
        settings.redirectPath = form.text("oidcRedirectPath") ?? ""
        settings.logoutPath = form.text("oidcLogoutPath")
        return (auth, .some(settings))
    }

    static func statusOptions(selected: String) -> [[String: Any]] {
        ["published", "deprecated", "disabled"].map { ["value": $0, "selected": $0 == selected] }
    }
}
