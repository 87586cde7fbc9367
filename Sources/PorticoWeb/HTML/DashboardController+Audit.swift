import Foundation
import Hummingbird
import PorticoCore

/// The audit log, newest first.
extension DashboardController {
    func addAuditRoutes(to group: RouterGroup<Context>) {
        group.get("audit") { request, context in
            let number = context.pageNumber(request)
            let page = try await audit.recent(limit: Paging.size, offset: Paging.offset(ofPage: number))
            let paging = Paging(page: number, total: page.total)
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
                    "paging": paging.dictionary { "/admin/audit?page=\($0)" },
                ], context: context, section: "audit")
        }
    }
}
