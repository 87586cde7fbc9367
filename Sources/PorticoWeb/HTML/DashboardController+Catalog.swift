import Foundation
import Hummingbird
import PorticoCore
import PorticoStore

/// Groups, APIs and access grants.
extension DashboardController {
    func addGroupRoutes(to group: RouterGroup<Context>) {
        group.get("groups") { request, context in try await groupList(request: request, context: context) }
        group.post("groups") { _, context in
            _ = try context.requireAdmin()
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
            _ = try context.requireAdmin()
            let id = try context.id(of: "group")
            let email = context.web.form.text("email") ?? ""
            guard let user = try await store.read({ try await store.users.find(email: email, on: $0) }) else {
                var feedback = FormFeedback(values: ["email": email])
                feedback.errors["email"] = "no user has the email '\(email)'"
                return try await groupDetail(id, request: nil, context: context, feedback: feedback)
            }
            try await groups.addMember(user.id, to: id, by: context.actor)
            return PageRenderer.redirect(to: "/admin/groups/\(id)", flash: "Added \(user.email).", context: context)
        }
        group.get("groups/{id}/members/{userId}/remove") { _, context in
            _ = try context.requireAdmin()
            let found = try await groups.get(try context.id(of: "group"))
            let member = try await users.get(try context.id("userId", of: "user"))
            return renderer.page("confirm", title: "Remove member?", [
                "question": "Remove \(member.email) from \(found.name)? They lose what the group grants at once.",
                "action": "/admin/groups/\(found.id)/members/\(member.id)/remove", "button": "Remove member",
                "back": "/admin/groups/\(found.id)",
            ], context: context, section: "groups")
        }
        group.post("groups/{id}/members/{userId}/remove") { _, context in
            _ = try context.requireAdmin()
            let id = try context.id(of: "group")
            try await groups.removeMember(try context.id("userId", of: "user"), from: id, by: context.actor)
            return PageRenderer.redirect(to: "/admin/groups/\(id)", flash: "Removed the member.", context: context)
        }
        addDeleteRoutes(to: group, Deletion(
            path: "groups", entity: "group", load: groups.get, delete: groups.delete,
            describe: { ($0.name, "Delete group \($0.name)? Its \($0.memberCount) members lose what it granted them.") }))
    }

    func groupList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        _ = try context.requireAdmin()
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await groups.list(), request: request, context: context, link: "/admin/groups")
        values["groups"] = page.rows.map { ["id": $0.id.uuidString, "name": $0.name, "members": $0.memberCount] }
        values["paging"] = page.paging
        return renderer.page("groups", title: "Groups", values, context: context, section: "groups", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func groupDetail(_ id: UUID, request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        _ = try context.requireAdmin()
        let found = try await groups.get(id)
        let paging = Paging(page: request.map(context.pageNumber) ?? 1, total: found.memberCount)
        let members = try await store.read { connection in
            try await store.users.members(of: id, limit: Paging.size, offset: paging.offset, on: connection)
        }
        var values = feedback?.dictionary ?? [:]
        values["group"] = ["id": found.id.uuidString, "name": found.name]
        values["members"] = members.map(userRow)
        values["paging"] = paging.dictionary { "/admin/groups/\(id)?page=\($0)" }
        return renderer.page("group", title: "Group \(found.name)", values, context: context, section: "groups", status: feedback == nil ? .ok : .unprocessableContent)
    }

    // MARK: APIs

    func addAPIRoutes(to group: RouterGroup<Context>) {
        group.get("apis") { request, context in try await apiList(request: request, context: context) }
        group.post("apis") { _, context in
            _ = try context.requireAdmin()
            let form = context.web.form
            let input = APIInput(
                name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                stripPrefix: form.isChecked("stripPrefix"), host: form.text("host"), status: form.text("status").flatMap(APIStatus.init(rawValue:)))
            do {
                let api = try await apis.create(input, by: context.actor)
                return PageRenderer.redirect(to: "/admin/apis", flash: "Created API \(api.name) at \(api.pathPrefix).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await apiList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("apis/{id}") { _, context in try await apiDetail(try context.id(of: "API"), context: context) }
        group.post("apis/{id}") { _, context in
            _ = try context.requireAdmin()
            let id = try context.id(of: "API")
            let form = context.web.form
            let patch = APIPatch(
                name: form.text("name") ?? "", pathPrefix: form.text("pathPrefix") ?? "", upstream: form.text("upstream") ?? "",
                stripPrefix: form.isChecked("stripPrefix"), host: .some(form.text("host")),
                status: form.text("status").flatMap(APIStatus.init(rawValue:)))
            do {
                let api = try await apis.update(id, patch, by: context.actor)
                return PageRenderer.redirect(to: "/admin/apis", flash: "Saved API \(api.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await apiDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(to: group, Deletion(
            path: "apis", entity: "API", load: apis.get, delete: apis.delete,
            describe: { ($0.name, "Delete API \($0.name) (\($0.pathPrefix))? The gateway stops routing it at once.") }))
    }

    func apiRow(_ api: APIDefinition) -> [String: Any] {
        [
            "id": api.id.uuidString, "name": api.name, "pathPrefix": api.pathPrefix, "host": api.host ?? "", "upstream": api.upstream,
            "stripPrefix": api.stripPrefix, "status": api.status.rawValue,
        ]
    }

    func apiList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        _ = try context.requireAdmin()
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await apis.list(), request: request, context: context, link: "/admin/apis")
        values["apis"] = page.rows.map(apiRow)
        values["paging"] = page.paging
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? "published")
        return renderer.page("apis", title: "APIs", values, context: context, section: "apis", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func apiDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        _ = try context.requireAdmin()
        let api = try await apis.get(id)
        var values = feedback?.dictionary ?? [:]
        if feedback == nil {
            values["values"] = ["name": api.name, "pathPrefix": api.pathPrefix, "host": api.host ?? "", "upstream": api.upstream]
        }
        values["api"] = apiRow(api)
        values["stripChecked"] = feedback.map { $0.values["stripPrefix"] != nil } ?? api.stripPrefix
        values["statuses"] = Self.statusOptions(selected: feedback?.values["status"] ?? api.status.rawValue)
        return renderer.page("api", title: "API \(api.name)", values, context: context, section: "apis", status: feedback == nil ? .ok : .unprocessableContent)
    }

    static func statusOptions(selected: String) -> [[String: Any]] {
        ["published", "deprecated", "disabled"].map { ["value": $0, "selected": $0 == selected] }
    }

    // MARK: access grants

    func addAccessRoutes(to group: RouterGroup<Context>) {
        group.get("accesses") { request, context in try await accessList(request: request, context: context) }
        group.post("accesses") { _, context in
            _ = try context.requireAdmin()
            let form = context.web.form
            do {
                let all = form.isChecked("allApis")
                let access = try await accesses.create(AccessInput(
                    name: form.text("name") ?? "", groups: form.all("groups"), apis: all ? nil : form.all("apis"), allApis: all ? true : nil,
                    rateLimit: try Self.rateLimit(form)), by: context.actor)
                return PageRenderer.redirect(to: "/admin/accesses", flash: "Created access \(access.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await accessList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("accesses/{id}") { _, context in try await accessDetail(try context.id(of: "access"), context: context) }
        group.post("accesses/{id}") { _, context in
            _ = try context.requireAdmin()
            let id = try context.id(of: "access")
            let form = context.web.form
            do {
                let all = form.isChecked("allApis")
                let access = try await accesses.update(id, AccessPatch(
                    name: form.text("name"), groups: form.all("groups"), apis: all ? nil : form.all("apis"), allApis: all,
                    rateLimit: .some(try Self.rateLimit(form))), by: context.actor)
                return PageRenderer.redirect(to: "/admin/accesses", flash: "Saved access \(access.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await accessDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(to: group, Deletion(
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
        _ = try context.requireAdmin()
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await accesses.list(), request: request, context: context, link: "/admin/accesses")
        values["paging"] = page.paging
        values["accesses"] = page.rows.map { access in
            [
                "id": access.id.uuidString, "name": access.name, "groups": access.groups.joined(separator: ", "),
                "apis": access.allApis ? "all APIs" : (access.apis ?? []).joined(separator: ", "), "limit": Format.limit(access.rateLimit),
            ] as [String: Any]
        }
        try await addChoices(to: &values, groups: Set(context.web.form.all("groups")), apis: Set(context.web.form.all("apis")))
        values["allChecked"] = context.web.form.isChecked("allApis")
        if feedback == nil { values["values"] = ["period": "1m"] }
        return renderer.page("accesses", title: "Access grants", values, context: context, section: "accesses", status: feedback == nil ? .ok : .unprocessableContent)
    }

    func accessDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        _ = try context.requireAdmin()
        let access = try await accesses.get(id)
        var values = feedback?.dictionary ?? [:]
        let form = context.web.form
        if feedback == nil {
            values["values"] = [
                "name": access.name, "limit": access.rateLimit.map { String($0.limit) } ?? "",
                "period": access.rateLimit.map { String($0.period) } ?? "1m",
            ]
        }
        try await addChoices(
            to: &values, groups: feedback == nil ? Set(access.groups) : Set(form.all("groups")),
            apis: feedback == nil ? Set(access.apis ?? []) : Set(form.all("apis")))
        values["allChecked"] = feedback == nil ? access.allApis : form.isChecked("allApis")
        values["access"] = ["id": access.id.uuidString, "name": access.name]
        return renderer.page("access", title: "Access \(access.name)", values, context: context, section: "accesses", status: feedback == nil ? .ok : .unprocessableContent)
    }

    private func addChoices(to values: inout [String: Any], groups chosenGroups: Set<String>, apis chosenAPIs: Set<String>) async throws {
        values["groupChoices"] = try await groups.list().map { ["name": $0.name, "checked": chosenGroups.contains($0.name)] }
        values["apiChoices"] = try await apis.list().map { ["name": $0.name, "pathPrefix": $0.pathPrefix, "checked": chosenAPIs.contains($0.name)] }
    }
}

/// A delete that first asks: `GET …/{id}/delete` shows the question, `POST` deletes and goes back to the list.
struct Deletion<Item: Sendable>: Sendable {
    let path: String
    let entity: String
    let load: @Sendable (UUID) async throws -> Item
    let delete: @Sendable (UUID, Actor) async throws -> Void
    /// The item's name for the message, and the question to ask.
    let describe: @Sendable (Item) -> (name: String, question: String)
}

extension DashboardController {
    func addDeleteRoutes<Item>(to group: RouterGroup<Context>, _ deletion: Deletion<Item>) {
        group.get("\(deletion.path)/{id}/delete") { _, context in
            _ = try context.requireAdmin()
            let id = try context.id(of: deletion.entity)
            let (_, question) = deletion.describe(try await deletion.load(id))
            return renderer.page("confirm", title: "Delete \(deletion.entity)?", [
                "question": question, "action": "/admin/\(deletion.path)/\(id)/delete", "button": "Delete \(deletion.entity)",
                "back": "/admin/\(deletion.path)/\(id)",
            ], context: context, section: deletion.path)
        }
        group.post("\(deletion.path)/{id}/delete") { _, context in
            _ = try context.requireAdmin()
            let id = try context.id(of: deletion.entity)
            let (name, _) = deletion.describe(try await deletion.load(id))
            try await deletion.delete(id, context.actor)
            return PageRenderer.redirect(to: "/admin/\(deletion.path)", flash: "Deleted \(deletion.entity) \(name).", context: context)
        }
    }
}
