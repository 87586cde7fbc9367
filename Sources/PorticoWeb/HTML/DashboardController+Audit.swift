import Foundation
import Hummingbird
import PorticoCore

/// The audit log, newest first.
extension DashboardController {
    func addAuditRoutes(to group: RouterGroup<Context>) {
        group.get("audit") { request, context in
            let page = try await Paging.fetch(request, context: context, link: { "/admin/audit?page=\($0)" }, audit.recent)
            return renderer.page(
                "audit", title: "Audit log",
                [
                    "entries": page.rows.map { entry in
                        [
                            "at": Format.date(entry.at), "actor": entry.actor, "action": entry.action,
                            "entity": entry.entityType + (entry.entityId.map { " " + $0 } ?? ""),
                            "before": entry.before ?? "", "after": entry.after ?? "",
                        ] as [String: Any]
                    },
                    "paging": page.paging,
                ], context: context, section: "audit")
        }
    }
}
