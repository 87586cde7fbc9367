import Foundation
import Hummingbird
import PorticoCore

/// Groups and their members.
extension DashboardController {
    func addGroupRoutes(to group: RouterGroup<Context>) {
        group.get("groups") { request, context in try await groupList(request: request, context: context) }
        group.post("groups") { _, context in
            do {
                let created = try await groups.create(name: context.web.form.text("name") ?? "", by: context.actor)
                return PageRenderer.redirect(to: "/admin/groups/\(created.id)", flash: "Created group \(created.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: context.web.form.values) else { throw error }
                return try await groupList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("groups/{id}") { request, context in try await groupDetail(try context.id(of: "group"), request: request, context: context) }
        group.post("groups/{id}/members") { _, context in
            let id = try context.id(of: "group")
            let email = context.web.form.text("email") ?? ""
            guard let user = try await users.find(email: email) else {
                var feedback = FormFeedback(values: ["email": email])
                feedback.errors["email"] = "no user has the email '\(email)'"
                return try await groupDetail(id, request: nil, context: context, feedback: feedback)
            }
            try await groups.addMember(user.id, to: id, by: context.actor)
            return PageRenderer.redirect(to: "/admin/groups/\(id)", flash: "Added \(user.email).", context: context)
        }
        group.get("groups/{id}/members/{userId}/remove") { _, context in
            let found = try await groups.get(try context.id(of: "group"))
            let member = try await users.get(try context.id("userId", of: "user"))
            return renderer.page(
                "confirm", title: "Remove member?",
                [
                    "question": "Remove \(member.email) from \(found.name)? They lose what the group grants at once.",
                    "action": "/admin/groups/\(found.id)/members/\(member.id)/remove", "button": "Remove member",
                    "back": "/admin/groups/\(found.id)",
                ], context: context, section: "groups")
        }
        group.post("groups/{id}/members/{userId}/remove") { _, context in
            let id = try context.id(of: "group")
            try await groups.removeMember(try context.id("userId", of: "user"), from: id, by: context.actor)
            return PageRenderer.redirect(to: "/admin/groups/\(id)", flash: "Removed the member.", context: context)
        }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "groups", entity: "group", load: groups.get, delete: groups.delete,
                describe: { ($0.name, "Delete group \($0.name)? Its \($0.memberCount) members lose what it granted them.") }))
    }

    func groupList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await groups.list(), request: request, context: context, link: "/admin/groups")
        values["groups"] = page.rows.map { ["id": $0.id.uuidString, "name": $0.name, "members": $0.memberCount] }
        values["paging"] = page.paging
        return renderer.page(
            "groups", title: "Groups", values, context: context, section: "groups", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func groupDetail(_ id: UUID, request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let found = try await groups.get(id)
        let paging = Paging(page: request.map(context.pageNumber) ?? 1, total: found.memberCount)
        let members = try await groups.members(of: id, limit: Paging.size, offset: paging.offset)
        var values = feedback?.dictionary ?? [:]
        values["group"] = ["id": found.id.uuidString, "name": found.name]
        values["members"] = members.map(PageRows.user)
        values["paging"] = paging.dictionary { "/admin/groups/\(id)?page=\($0)" }
        return renderer.page(
            "group", title: "Group \(found.name)", values, context: context, section: "groups", status: feedback == nil ? .ok : .unprocessableContent)
    }
}
