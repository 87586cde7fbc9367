import Foundation
import Hummingbird
import PorticoCore

/// Users, with their keys and invitation links.
extension DashboardController {
    func addUserRoutes(to group: RouterGroup<Context>) {
        group.get("users") { request, context in try await userList(request, context: context) }
        group.post("users") { request, context in try await userCreated(request, context: context) }
        group.get("users/{id}") { _, context in try await userDetail(try context.id(of: "user"), context: context) }
        group.post("users/{id}") { _, context in try await userEdited(try context.id(of: "user"), context: context) }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "users", entity: "user", load: users.get, delete: users.delete,
                describe: { user in
                    let name = user.email.isEmpty ? (user.externalId ?? "this user") : user.email
                    return (name, "Delete \(name)? Their keys and memberships go too; the audit log keeps the record.")
                }))
        group.post("users/{id}/keys") { _, context in try await keyCreated(for: try context.id(of: "user"), context: context) }
        group.post("users/{id}/invite") { _, context in
            let id = try context.id(of: "user")
            let user = try await users.get(id)
            let token = try await invitations.invite(id, by: context.actor)
            return renderer.page(
                "shown-once", title: "Invitation link",
                [
                    "what": "invitation link for \(user.email)", "secret": "/portal/invite/\(token)", "isLink": true,
                    "back": "/admin/users/\(id)", "note": "Send this link to \(user.email). It lets them set a password once, within 7 days.",
                ], context: context, section: "users")
        }
    }

    func userList(_ request: Request, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let search = request.uri.queryParameters.get("search").flatMap { $0.isEmpty ? nil : $0 }
        let searchQuery = search.map { "&search=\(Format.query($0))" } ?? ""
        let page = try await Paging.fetch(
            request, context: context, link: { "/admin/users?page=\($0)" + searchQuery },
            { limit, offset in try await users.page(search: search, limit: limit, offset: offset) })
        let allGroups = try await groups.list()
        let chosen = Set(context.web.form.all("groups"))
        var values = feedback?.dictionary ?? [:]
        values["users"] = page.rows.map(PageRows.user)
        values["search"] = search ?? ""
        values["paging"] = page.paging
        values["groups"] = allGroups.map { ["name": $0.name, "checked": chosen.contains($0.name)] }
        return renderer.page(
            "users", title: "Users", values, context: context, section: "users", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func userCreated(_ request: Request, context: Context) async throws -> Response {
        let form = context.web.form
        let input = UserInput(
            email: form.text("email") ?? "", name: form.text("name"), groups: form.all("groups"),
            role: form.text("role").flatMap(Role.init(rawValue:)))
        do {
            let user = try await users.create(input, by: context.actor)
            return PageRenderer.redirect(to: "/admin/users/\(user.id)", flash: "Created user \(user.email).", context: context)
        } catch {
            guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
            return try await userList(request, context: context, feedback: feedback)
        }
    }

    /// `feedback` is for the edit form, `keyFeedback` for the new-key form.
    func userDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil, keyFeedback: FormFeedback? = nil) async throws -> Response {
        let user = try await users.get(id)
        let userKeys = try await keys.list(for: id)
        let allGroups = try await groups.list()
        let memberOf = feedback == nil ? Set(user.groups) : Set(context.web.form.all("groups"))
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.users, id: id).map(String.init) ?? ""
        if feedback == nil {
            values["values"] = ["email": user.email, "name": user.name]
        }
        if let keyFeedback {
            values["keyValues"] = keyFeedback.values
            values["keyErrors"] = keyFeedback.errors
            values["errors"] = ["form": keyFeedback.errors["form"] ?? ""]
        }
        values["user"] = PageRows.user(user)
        values["isAdminRole"] = user.role == .admin
        values["groups"] = allGroups.map { ["name": $0.name, "checked": memberOf.contains($0.name)] }
        values["keys"] = userKeys.map(PageRows.key)
        values["tokenName"] = user.tokenName ?? ""
        values["usage"] = UsageCharts.values(try await usage.lastDays(14, user: user, api: nil), subject: "all APIs")
        let recent = try await refusals.recent(of: user.id)
        values["refusals"] = recent.map { Self.refusalRow($0, userId: user.id) }
        values["hasRefusals"] = !recent.isEmpty
        return renderer.page(
            "user", title: user.email.isEmpty ? (user.externalId ?? "User") : user.email, values, context: context, section: "users",
            status: feedback == nil && keyFeedback == nil ? .ok : .unprocessableContent)
    }

    func userEdited(_ id: UUID, context: Context) async throws -> Response {
        let form = context.web.form
        let patch = UserPatch(
            email: form.text("email"), name: form["name"]?.trimmingCharacters(in: .whitespaces), groups: form.all("groups"),
            role: form.text("role").flatMap(Role.init(rawValue:)), disabled: form.isChecked("disabled"))
        do {
            let user = try await RowVersion.expecting(Self.openedVersion(form), of: .users, id: id) {
                try await users.update(id, patch, by: context.actor)
            }
            return PageRenderer.redirect(to: "/admin/users/\(id)", flash: "Saved \(user.email.isEmpty ? "the user" : user.email).", context: context)
        } catch {
            guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
            return try await userDetail(id, context: context, feedback: feedback)
        }
    }

    func keyCreated(for userId: UUID, context: Context) async throws -> Response {
        let form = context.web.form
        do {
            let expires = try form.date("expiresAt")
            let issued = try await keys.create(for: userId, name: form.text("name") ?? "", expiresAt: expires, by: context.actor)
            return renderer.page(
                "shown-once", title: "New API key",
                [
                    "what": "API key \(issued.name)", "secret": issued.key, "back": "/admin/users/\(userId)",
                    "note": "Copy the key now: Portico keeps only its hash and cannot show it again.",
                ], context: context, section: "users")
        } catch {
            guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
            return try await userDetail(userId, context: context, keyFeedback: feedback)
        }
    }
}
