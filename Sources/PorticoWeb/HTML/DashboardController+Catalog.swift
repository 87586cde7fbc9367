import Foundation
import Hummingbird
import PorticoCore

/// The catalog on the dashboard: an API's entry (who sees it, the plans consumers may ask for, whether requests are
/// approved at once) on its page, and the access requests waiting for an answer.
extension DashboardController {
    func addCatalogRoutes(to group: RouterGroup<Context>) {
        group.post("apis/{id}/catalog") { _, context in
            let id = try context.id(of: "API")
            let form = context.web.form
            do {
                let visibility: CatalogVisibility
                switch form.text("visibility") ?? "private" {
                case "public": visibility = .public
                case "groups": visibility = .groups(form.all("catalogGroups"))
                default: visibility = .private
                }
                _ = try await catalog.save(
                    APICatalogSettings(visibility: visibility, plans: form.all("catalogPlans"), autoApprove: form.isChecked("autoApprove")),
                    of: id, by: context.actor)
                return PageRenderer.redirect(to: "/admin/apis/\(id)", flash: "Saved the catalog entry.", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await apiDetail(id, context: context, catalogFeedback: feedback)
            }
        }
        group.get("access-requests") { _, context in try await accessRequestsPage(context: context) }
        group.post("access-requests/{id}/approve") { _, context in
            let request = try await catalog.approve(try context.id(of: "access request"), by: context.actor)
            return PageRenderer.redirect(
                to: "/admin/access-requests", flash: "Approved: \(request.userEmail) may call \(request.api) (grant \(request.grant ?? "")).",
                context: context)
        }
        group.post("access-requests/{id}/reject") { _, context in
            let id = try context.id(of: "access request")
            do {
                let request = try await catalog.reject(id, reason: context.web.form["reason"] ?? "", by: context.actor)
                return PageRenderer.redirect(
                    to: "/admin/access-requests", flash: "Rejected the request of \(request.userEmail) for \(request.api).", context: context)
            } catch {
                guard var feedback = FormFeedback.from(error, values: context.web.form.values) else { throw error }
                feedback.values["request"] = id.uuidString
                return try await accessRequestsPage(context: context, feedback: feedback)
            }
        }
    }

    func accessRequestsPage(context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let waiting = try await catalog.requests(status: .pending)
        let answered = try await catalog.requests(status: nil).filter { $0.status != .pending }.prefix(50)
        func row(_ request: AccessRequest) -> [String: Any] {
            let failed = feedback?.values["request"] == request.id.uuidString
            return [
                "id": request.id.uuidString, "user": request.userEmail, "userId": request.userId.uuidString, "api": request.api,
                "apiId": request.apiId.uuidString, "plan": request.plan ?? "—", "reason": request.reason, "status": request.status.rawValue,
                "approved": request.status == .approved, "decisionReason": request.decisionReason ?? "", "decidedBy": request.decidedBy ?? "",
                "decidedAt": request.decidedAt.map(Format.date) ?? "", "created": Format.date(request.createdAt), "grant": request.grant ?? "",
                "rejectError": failed ? feedback?.errors["reason"] ?? "" : "",
            ]
        }
        let pending = waiting.map(row)
        let decided = answered.map(row)
        return renderer.page(
            "access-requests", title: "Access requests",
            ["pending": pending, "hasPending": !pending.isEmpty, "decided": Array(decided), "hasDecided": !decided.isEmpty], context: context,
            section: "accessRequests", status: feedback == nil ? .ok : .unprocessableContent)
    }

    /// The catalog form's values on an API's page: as stored, or as `sent` when the save was refused.
    func catalogValues(of api: UUID, sent: FormValues?, error: String?) async throws -> [String: Any] {
        let stored = try await catalog.settings(of: api)
        var visibleGroups: [String] = []
        if case .groups(let groups) = stored.visibility { visibleGroups = groups }
        let kind = sent?.text("visibility") ?? stored.visibility.kind
        let chosenGroups = Set(sent?.all("catalogGroups") ?? visibleGroups)
        let chosenPlans = Set(sent?.all("catalogPlans") ?? stored.plans)
        return [
            "visibilities": [
                ("public", "every signed-in consumer"), ("groups", "members of the groups below"), ("private", "only those with access"),
            ]
            .map { ["value": $0.0, "label": $0.1, "selected": $0.0 == kind] as [String: Any] },
            "groupChoices": try await groups.list().map { ["name": $0.name, "checked": chosenGroups.contains($0.name)] as [String: Any] },
            "planChoices": try await plans.list().map { ["name": $0.name, "checked": chosenPlans.contains($0.name)] as [String: Any] },
            "autoApprove": sent.map { $0.isChecked("autoApprove") } ?? stored.autoApprove,
            "catalogError": error ?? "",
        ]
    }
}
