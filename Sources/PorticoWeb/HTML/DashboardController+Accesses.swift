import Foundation
import Hummingbird
import PorticoCore

/// Access grants: which groups may call which APIs, and at what rate.
extension DashboardController {
    func addAccessRoutes(to group: RouterGroup<Context>) {
        group.get("accesses") { request, context in try await accessList(request: request, context: context) }
        group.post("accesses") { _, context in
            let form = context.web.form
            do {
                let all = form.isChecked("allApis")
                let access = try await accesses.create(
                    AccessInput(
                        name: form.text("name") ?? "", groups: form.all("groups"), apis: all ? nil : form.all("apis"), allApis: all ? true : nil,
                        rateLimit: try Self.rateLimit(form), plan: form.text("plan"),
                        operationFilter: OperationFilter(lines: form["operations"] ?? "")),
                    by: context.actor)
                return PageRenderer.redirect(to: "/admin/accesses", flash: "Created access \(access.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await accessList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("accesses/{id}") { _, context in try await accessDetail(try context.id(of: "access"), context: context) }
        group.post("accesses/{id}") { _, context in
            let id = try context.id(of: "access")
            let form = context.web.form
            do {
                let all = form.isChecked("allApis")
                let patch = AccessPatch(
                    name: form.text("name"), groups: form.all("groups"), apis: all ? nil : form.all("apis"), allApis: all,
                    rateLimit: .some(try Self.rateLimit(form)), plan: .some(form.text("plan")),
                    operationFilter: .some(OperationFilter(lines: form["operations"] ?? "")))
                let access = try await RowVersion.expecting(Self.openedVersion(form), of: .accesses, id: id) {
                    try await accesses.update(id, patch, by: context.actor)
                }
                return PageRenderer.redirect(to: "/admin/accesses", flash: "Saved access \(access.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await accessDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "accesses", entity: "access", load: accesses.get, delete: accesses.delete,
                describe: { ($0.name, "Delete access \($0.name)? Its groups lose these APIs at once.") }))
    }

    /// The rate-limit fields: both empty means no limit.
    static func rateLimit(_ form: FormValues) throws(PorticoError) -> RateLimitInput? {
        guard let text = form.text("limit") else { return nil }
        guard let limit = Int(text) else { throw PorticoError.invalid(field: "rateLimit.limit", reason: "'\(text)' is not a whole number") }
        return RateLimitInput(limit: limit, period: form.text("period") ?? "1m")
    }

    func accessList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await accesses.list(), request: request, context: context, link: "/admin/accesses")
        values["paging"] = page.paging
        values["accesses"] = page.rows.map { access in
            [
                "id": access.id.uuidString, "name": access.name, "groups": access.groups.joined(separator: ", "),
                "apis": access.allApis ? "all APIs" : (access.apis ?? []).joined(separator: ", "), "plan": access.plan ?? "—",
                "limit": access.rateLimit.map { Format.limit($0) } ?? (access.plan == nil ? "unlimited" : "the plan's"),
                "operations": access.operationFilter.map { $0.lines.replacingOccurrences(of: "\n", with: ", ") } ?? "all",
            ] as [String: Any]
        }
        try await addChoices(
            to: &values, groups: Set(context.web.form.all("groups")), apis: Set(context.web.form.all("apis")), plan: context.web.form.text("plan"))
        values["allChecked"] = context.web.form.isChecked("allApis")
        if feedback == nil { values["values"] = ["period": "1m"] }
        return renderer.page(
            "accesses", title: "Access grants", values, context: context, section: "accesses", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func accessDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let access = try await accesses.get(id)
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.accesses, id: id).map(String.init) ?? ""
        let form = context.web.form
        if feedback == nil {
            values["values"] = [
                "name": access.name, "limit": access.rateLimit.map { String($0.limit) } ?? "",
                "period": access.rateLimit.map { String($0.period) } ?? "1m", "operations": access.operationFilter?.lines ?? "",
            ]
        }
        try await addChoices(
            to: &values, groups: feedback == nil ? Set(access.groups) : Set(form.all("groups")),
            apis: feedback == nil ? Set(access.apis ?? []) : Set(form.all("apis")), plan: feedback == nil ? access.plan : form.text("plan"))
        values["allChecked"] = feedback == nil ? access.allApis : form.isChecked("allApis")
        values["access"] = ["id": access.id.uuidString, "name": access.name]
        return renderer.page(
            "access", title: "Access \(access.name)", values, context: context, section: "accesses",
            status: feedback == nil ? .ok : .unprocessableContent)
    }

    private func addChoices(
        to values: inout [String: Any], groups chosenGroups: Set<String>, apis chosenAPIs: Set<String>, plan chosenPlan: String?
    ) async throws {
        values["planChoices"] = try await plans.list().map { plan in
            [
                "name": plan.name, "selected": plan.name == chosenPlan,
                "summary": "\(Format.limit(plan.rateLimit)), \(Format.quota(plan.quota))",
            ] as [String: Any]
        }
        values["groupChoices"] = try await groups.list().map { ["name": $0.name, "checked": chosenGroups.contains($0.name)] }
        values["apiChoices"] = try await apis.list().map { ["name": $0.name, "pathPrefix": $0.pathPrefix, "checked": chosenAPIs.contains($0.name)] }
    }
}
