import Foundation
import Hummingbird
import PorticoCore

/// API keys across every user, and revoking one.
extension DashboardController {
    func addKeyRoutes(to group: RouterGroup<Context>) {
        group.get("keys") { request, context in
            let page = try await Paging.fetch(request, context: context, link: { "/admin/keys?page=\($0)" }, keys.listAll)
            return renderer.page(
                "keys", title: "API keys",
                [
                    "keys": page.rows.map { row in
                        PageRows.key(row.key).merging(["userEmail": row.ownerEmail, "userId": row.key.userId.uuidString]) { $1 }
                    },
                    "paging": page.paging,
                ], context: context, section: "keys")
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

    /// Where to go back to: only a dashboard path, never another site.
    static func localBack(_ path: String?) -> String {
        guard let path, path.hasPrefix("/admin/"), !path.hasPrefix("//") else { return "/admin/keys" }
        return path
    }
}
