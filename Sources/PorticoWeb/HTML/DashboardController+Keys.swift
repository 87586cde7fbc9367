import Foundation
import Hummingbird
import PorticoCore

/// API keys across every user, and revoking one.
extension DashboardController {
    func addKeyRoutes(to group: RouterGroup<Context>) {
        group.get("keys") { request, context in try await keysPage(request, context: context) }
        group.post("key-policy") { request, context in
            let form = context.web.form
            do {
                let days = try form.text("maxKeyLifetimeDays").map { text throws(PorticoError) -> Int in
                    guard let days = Int(text) else { throw .invalid(field: "maxKeyLifetimeDays", reason: "'\(text)' is not a whole number of days") }
                    return days
                }
                _ = try await keyPolicy.save(KeyPolicy(maxKeyLifetimeDays: days, requireExpiry: form.isChecked("requireExpiry")), by: context.actor)
                return PageRenderer.redirect(to: "/admin/keys", flash: "Saved the key policy.", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await keysPage(request, context: context, policyFeedback: feedback)
            }
        }
        group.get("keys/{id}/revoke") { request, context in
            let key = try await keys.get(try context.id(of: "key"))
            let back = Self.localBack(request.uri.queryParameters.get("back"))
            return renderer.page(
                "confirm", title: "Revoke key?",
                [
                    "question": "Revoke key \(key.name) (\(key.prefix)…)? The gateway refuses it at once; this cannot be undone.",
                    "action": "/admin/keys/\(key.id)/revoke", "button": "Revoke key", "back": back, "backField": back,
                ], context: context, section: "keys")
        }
        group.post("keys/{id}/revoke") { _, context in
            let key = try await keys.revoke(try context.id(of: "key"), by: context.actor)
            let back = Self.localBack(context.web.form.text("back"))
            return PageRenderer.redirect(to: back, flash: "Revoked key \(key.name) (\(key.prefix)…).", context: context)
        }
    }

    func keysPage(_ request: Request, context: Context, policyFeedback: FormFeedback? = nil) async throws -> Response {
        let page = try await Paging.fetch(request, context: context, link: { "/admin/keys?page=\($0)" }, keys.listAll)
        let names = try await applications.names(page.rows.compactMap(\.key.applicationId))
        let policy = try await keyPolicy.current()
        return renderer.page(
            "keys", title: "API keys",
            [
                "keys": page.rows.map { row in
                    PageRows.key(row.key).merging([
                        "userEmail": row.ownerEmail, "userId": row.key.userId.uuidString,
                        "application": row.key.applicationId.flatMap { names[$0] } ?? "—",
                    ]) { $1 }
                },
                "paging": page.paging,
                "policy": [
                    "maxKeyLifetimeDays": policyFeedback?.values["maxKeyLifetimeDays"] ?? policy.maxKeyLifetimeDays.map(String.init) ?? "",
                    "requireExpiry": policyFeedback.map { $0.values["requireExpiry"] != nil } ?? policy.requireExpiry,
                ],
                "errors": policyFeedback?.errors ?? [:],
            ], context: context, section: "keys", status: policyFeedback == nil ? .ok : .unprocessableContent)
    }

    /// Where to go back to: only a dashboard path, never another site.
    static func localBack(_ path: String?) -> String {
        guard let path, path.hasPrefix("/admin/"), !path.hasPrefix("//") else { return "/admin/keys" }
        return path
    }
}
