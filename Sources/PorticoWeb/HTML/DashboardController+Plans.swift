import Foundation
import Hummingbird
import PorticoCore

/// Plans: rate limit, quota and bucket, and the grants that use each.
extension DashboardController {
    func addPlanRoutes(to group: RouterGroup<Context>) {
        group.get("plans") { request, context in try await planList(request: request, context: context) }
        group.post("plans") { _, context in
            let form = context.web.form
            do {
                let plan = try await plans.create(try Self.planInput(form), by: context.actor)
                return PageRenderer.redirect(to: "/admin/plans/\(plan.id)", flash: "Created plan \(plan.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await planList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("plans/{id}") { _, context in try await planDetail(try context.id(of: "plan"), context: context) }
        group.post("plans/{id}") { _, context in
            let id = try context.id(of: "plan")
            let form = context.web.form
            do {
                let input = try Self.planInput(form)
                let plan = try await RowVersion.expecting(Self.openedVersion(form), of: .plans, id: id) {
                    try await plans.update(id, input, by: context.actor)
                }
                return PageRenderer.redirect(to: "/admin/plans/\(plan.id)", flash: "Saved plan \(plan.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await planDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "plans", entity: "plan", load: plans.get, delete: plans.delete,
                describe: { ($0.name, "Delete plan \($0.name)? It can only go when no access grant uses it.") }))
    }

    /// The plan form: empty rate-limit or quota fields mean none.
    static func planInput(_ form: FormValues) throws(PorticoError) -> PlanInput {
        var quota: QuotaInput?
        if let text = form.text("quotaLimit") {
            guard let limit = Int(text) else { throw PorticoError.invalid(field: "quota.limit", reason: "'\(text)' is not a whole number") }
            quota = QuotaInput(limit: limit, period: form.text("quotaPeriod") ?? "month")
        }
        return PlanInput(
            name: form.text("name") ?? "", description: form.text("description") ?? "", rateLimit: .some(try rateLimit(form)),
            quota: .some(quota), bucket: form.text("bucket") ?? PlanBucket.consumerAPI.rawValue)
    }

    func planList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await plans.list(), request: request, context: context, link: "/admin/plans")
        values["paging"] = page.paging
        values["plans"] = page.rows.map { plan in
            [
                "id": plan.id.uuidString, "name": plan.name, "rate": Format.limit(plan.rateLimit), "quota": Format.quota(plan.quota),
                "bucket": plan.bucket.rawValue, "grants": plan.grants.isEmpty ? "—" : plan.grants.joined(separator: ", "),
            ] as [String: Any]
        }
        if feedback == nil { values["values"] = ["period": "1m", "quotaPeriod": "month"] }
        values["bucketChoices"] = Self.bucketChoices(selected: context.web.form.text("bucket") ?? PlanBucket.consumerAPI.rawValue)
        values["quotaPeriodChoices"] = Self.quotaPeriodChoices(selected: context.web.form.text("quotaPeriod") ?? QuotaPeriod.month.rawValue)
        return renderer.page(
            "plans", title: "Plans", values, context: context, section: "plans", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func planDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let plan = try await plans.get(id)
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.plans, id: id).map(String.init) ?? ""
        let form = context.web.form
        if feedback == nil {
            values["values"] = [
                "name": plan.name, "description": plan.description,
                "limit": plan.rateLimit.map { String($0.limit) } ?? "", "period": plan.rateLimit.map { String($0.period) } ?? "1m",
                "quotaLimit": plan.quota.map { String($0.limit) } ?? "",
            ]
        }
        values["bucketChoices"] = Self.bucketChoices(selected: feedback == nil ? plan.bucket.rawValue : form.text("bucket") ?? "")
        values["quotaPeriodChoices"] = Self.quotaPeriodChoices(
            selected: feedback == nil ? (plan.quota?.period ?? .month).rawValue : form.text("quotaPeriod") ?? "")
        values["plan"] = ["id": plan.id.uuidString, "name": plan.name]
        values["grants"] = try await accesses.list().filter { $0.plan == plan.name }.map { access in
            [
                "id": access.id.uuidString, "name": access.name, "groups": access.groups.joined(separator: ", "),
                "apis": access.allApis ? "all APIs" : (access.apis ?? []).joined(separator: ", "),
                "rate": access.rateLimit.map { "\(Format.limit($0)) (its own)" } ?? Format.limit(plan.rateLimit),
            ] as [String: Any]
        }
        return renderer.page(
            "plan", title: "Plan \(plan.name)", values, context: context, section: "plans", status: feedback == nil ? .ok : .unprocessableContent)
    }

    static func bucketChoices(selected: String) -> [[String: Any]] {
        [
            ["value": PlanBucket.consumerAPI.rawValue, "label": "per consumer and API", "selected": selected == PlanBucket.consumerAPI.rawValue],
            [
                "value": PlanBucket.consumer.rawValue, "label": "per consumer, across the plan's APIs",
                "selected": selected == PlanBucket.consumer.rawValue,
            ],
        ]
    }

    static func quotaPeriodChoices(selected: String) -> [[String: Any]] {
        [("24h", "per day (UTC)"), ("30d", "per 30 days"), ("month", "per calendar month (UTC)")].map { value, label in
            ["value": value, "label": label, "selected": selected == value]
        }
    }
}
