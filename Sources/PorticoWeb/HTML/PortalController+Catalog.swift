import Foundation
import Hummingbird
import PorticoCore

/// The catalog: every API the signed-in consumer may see, with "you have access" or a form to request it under one
/// of its offered plans, and where their requests stand.
extension PortalController {
    func addCatalogRoutes(to group: RouterGroup<Context>) {
        group.get("catalog") { _, context in try await catalogPage(context: context) }
        group.post("catalog/{id}/request") { _, context in
            let user = try context.signedInUser(area: .portal)
            let form = context.web.form
            let api = try context.id(of: "API")
            do {
                let request = try await catalog.request(
                    api: api, plan: form.text("plan"), reason: form["reason"] ?? "", by: user, actor: context.actor)
                let flash =
                    request.status == .approved
                    ? "Access to \(request.api) granted: it is on your APIs now."
                    : "Request for \(request.api) sent: an admin will answer it here."
                return PageRenderer.redirect(to: "/portal/catalog", flash: flash, context: context)
            } catch {
                guard var feedback = FormFeedback.from(error, values: form.values) else { throw error }
                feedback.values["api"] = api.uuidString
                return try await catalogPage(context: context, feedback: feedback)
            }
        }
    }

    func catalogPage(context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let user = try context.signedInUser(area: .portal)
        let entries = try await catalog.catalog(for: user)
        let failedAPI = feedback?.values["api"]
        let rows: [[String: Any]] = entries.map { entry in
            let request = entry.request
            let failed = failedAPI == entry.api.id.uuidString
            return [
                "id": entry.api.id.uuidString, "name": entry.api.name, "path": entry.api.pathPrefix, "callable": entry.callable,
                "pending": request?.status == .pending, "rejected": !entry.callable && request?.status == .rejected,
                "rejection": request?.decisionReason ?? "", "requestedPlan": request?.plan ?? "",
                "canRequest": !entry.callable && request?.status != .pending,
                "plans": entry.settings.plans.map { plan in
                    ["plan": plan, "selected": failed && feedback?.values["plan"] == plan] as [String: Any]
                },
                "hasPlans": !entry.settings.plans.isEmpty, "autoApprove": entry.settings.autoApprove,
                "reasonValue": failed ? feedback?.values["reason"] ?? "" : "",
                "rowError": failed ? feedback?.errors["form"] ?? "" : "",
            ]
        }
        return renderer.page(
            "portal-catalog", title: "API catalog", ["entries": rows, "hasEntries": !rows.isEmpty], context: context, section: "portalCatalog",
            status: feedback == nil ? .ok : .unprocessableContent)
    }
}
