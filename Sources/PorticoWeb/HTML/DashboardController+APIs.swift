import Foundation
import Hummingbird
import PorticoCore

/// APIs: the routes the gateway serves.
extension DashboardController {
    func addAPIRoutes(to group: RouterGroup<Context>) {
        group.get("apis") { request, context in try await apiList(request: request, context: context) }
        group.post("apis") { _, context in
            let form = context.web.form
            let input = APIInput(
                name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                stripPrefix: form.isChecked("stripPrefix"), host: form.text("host"), status: form.text("status").flatMap(APIStatus.init(rawValue:)))
            do {
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
            let patch = APIPatch(
                name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                stripPrefix: form.isChecked("stripPrefix"), host: .some(form.text("host")),
                status: form.text("status").flatMap(APIStatus.init(rawValue:)),
                tokenProviders: .some(form.commaSeparated("tokenProviders")))
            do {
                let api = try await apis.update(id, patch, by: context.actor)
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
    }

    func apiList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await apis.list(), request: request, context: context, link: "/admin/apis")
        values["apis"] = page.rows.map(PageRows.api)
        values["paging"] = page.paging
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? "published")
        return renderer.page("apis", title: "APIs", values, context: context, section: "apis", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func apiDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let api = try await apis.get(id)
        var values = feedback?.dictionary ?? [:]
        if feedback == nil {
            values["values"] = [
                "name": api.name, "pathPrefix": api.pathPrefix, "host": api.host ?? "", "upstream": api.upstream,
                "tokenProviders": api.tokenProviders?.joined(separator: ", ") ?? "",
            ]
        }
        values["api"] = PageRows.api(api)
        values["stripChecked"] = feedback.map { $0.values["stripPrefix"] != nil } ?? api.stripPrefix
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? api.status.rawValue)
        return renderer.page(
            "api", title: "API \(api.name)", values, context: context, section: "apis", status: feedback == nil ? .ok : .unprocessableContent)
    }

    static func statusOptions(selected: String) -> [[String: Any]] {
        ["published", "deprecated", "disabled"].map { ["value": $0, "selected": $0 == selected] }
    }
}
