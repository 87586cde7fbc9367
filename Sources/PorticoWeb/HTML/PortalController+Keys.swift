import Foundation
import Hummingbird
import PorticoCore

/// The portal's keys page: the consumer's applications, each with its keys (last use to the minute, expiry with a
/// warning two weeks ahead, scopes), new applications and keys, rotation and revocation.
extension PortalController {
    static let overlapChoices: [(seconds: Int, label: String)] = [
        (0, "none: the old key stops now"), (3_600, "1 hour"), (86_400, "1 day"), (7 * 86_400, "7 days"), (30 * 86_400, "30 days"),
    ]

    func addKeyRoutes(to signedIn: RouterGroup<Context>) {
        signedIn.get("keys") { _, context in try await myKeys(context: context) }
        signedIn.post("keys") { _, context in
            let user = try context.signedInUser(area: .portal)
            let form = context.web.form
            do {
                let application = try form.text("application").map { text throws(PorticoError) -> UUID in
                    guard let id = UUID(uuidString: text) else { throw .invalid(field: "application", reason: "choose one of your applications") }
                    return id
                }
                let scopes = form.isChecked("scoped") ? form.all("scopes") : nil
                let issued = try await keys.create(
                    for: user.id,
                    KeyRequest(name: form.text("name") ?? "", expiresAt: try form.date("expiresAt"), applicationId: application, scopes: scopes),
                    by: context.actor)
                return renderer.page(
                    "portal-key-created", title: "Your new API key", ["name": issued.name, "secret": issued.key], context: context,
                    section: "portalKeys")
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await myKeys(context: context, feedback: feedback)
            }
        }
        signedIn.post("applications") { _, context in
            let user = try context.signedInUser(area: .portal)
            let form = context.web.form
            do {
                let created = try await applications.create(
                    for: user.id, name: form.text("name") ?? "", description: form["description"], by: context.actor)
                return PageRenderer.redirect(to: "/portal/keys", flash: "Created application \(created.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await myKeys(context: context, applicationFeedback: feedback)
            }
        }
        signedIn.get("keys/{id}/rotate") { _, context in
            let key = try await ownKey(context: context)
            return renderer.page(
                "portal-key-rotate", title: "Rotate key \(key.name)?",
                [
                    "id": key.id.uuidString, "name": key.name, "prefix": key.prefix,
                    "overlaps": Self.overlapChoices.map {
                        ["seconds": $0.seconds, "label": $0.label, "selected": $0.seconds == KeyRotation.defaultOverlapSeconds]
                    },
                ], context: context, section: "portalKeys")
        }
        signedIn.post("keys/{id}/rotate") { _, context in
            let id = try await ownKey(context: context).id
            let overlap = context.web.form.text("overlapSeconds").flatMap(Int.init)
            let rotated = try await keys.rotate(id, overlapSeconds: overlap, by: context.actor)
            return renderer.page(
                "portal-key-created", title: "Your new API key",
                [
                    "name": rotated.key.name, "secret": rotated.key.key,
                    "replaced":
                        "Your old key \(rotated.replaced.prefix)… works until \(Format.date(rotated.replaced.expiresAt)); switch your clients to this one before then.",
                ], context: context, section: "portalKeys")
        }
        signedIn.get("keys/{id}/revoke") { _, context in
            let key = try await ownKey(context: context)
            return renderer.page(
                "confirm", title: "Revoke key?",
                [
                    "question": "Revoke your key \(key.name) (\(key.prefix)…)? Calls with it are refused at once; this cannot be undone.",
                    "action": "/portal/keys/\(key.id)/revoke", "button": "Revoke key", "back": "/portal/keys",
                ], context: context, section: "portalKeys")
        }
        signedIn.post("keys/{id}/revoke") { _, context in
            let id = try await ownKey(context: context).id
            let key = try await keys.revoke(id, by: context.actor)
            return PageRenderer.redirect(to: "/portal/keys", flash: "Revoked key \(key.name).", context: context)
        }
    }

    func myKeys(context: Context, feedback: FormFeedback? = nil, applicationFeedback: FormFeedback? = nil, now: Date = Date()) async throws
        -> Response
    {
        let user = try context.signedInUser(area: .portal)
        let mode = try await authSettings.current().mode
        let owned = try await keys.list(for: user.id)
        let apps = try await applications.list(for: user.id)
        let apiNames = try await keys.apiNames()
        let policy = try await keyPolicy.current()
        let reachable = try await consumerAccess.access(of: user).map(\.api.name)
        var values = feedback?.dictionary ?? [:]
        let chosenApplication = feedback?.values["application"]
        let chosenScopes = Set(context.web.form.all("scopes"))
        values["applications"] = apps.map { application in
            let rows = owned.filter { $0.applicationId == application.id }.map { key -> [String: Any] in
                var row = PageRows.key(key)
                row["scopes"] = key.scopes.map { ids in ids.compactMap { apiNames[$0] }.sorted().joined(separator: ", ") } ?? "every API"
                if key.state == .active, let days = KeyExpiry.daysLeftToWarn(expiresAt: key.expiresAt, now: now) {
                    row["warning"] = days == 1 ? "expires within a day" : "expires in \(days) days"
                }
                return row
            }
            return [
                "id": application.id.uuidString, "name": application.name, "description": application.description, "keys": rows,
                "hasKeys": !rows.isEmpty, "selected": chosenApplication == application.id.uuidString,
            ] as [String: Any]
        }
        values["hasApplications"] = !apps.isEmpty
        values["apis"] = reachable.map { ["name": $0, "checked": chosenScopes.contains($0)] }
        values["scoped"] = context.web.form.isChecked("scoped")
        values["jwtMode"] = mode == .jwt
        values["policy"] = Self.policyNote(policy)
        values["expiryRequired"] = policy.requireExpiry || policy.maxKeyLifetimeDays != nil
        if let applicationFeedback {
            values["applicationValues"] = applicationFeedback.values
            values["applicationErrors"] = applicationFeedback.errors
        }
        let failed = feedback != nil || applicationFeedback != nil
        return renderer.page(
            "portal-keys", title: "My API keys", values, context: context, section: "portalKeys", status: failed ? .unprocessableContent : .ok)
    }

    static func policyNote(_ policy: KeyPolicy) -> String {
        if let days = policy.maxKeyLifetimeDays { return "New keys must expire within \(days) days." }
        return policy.requireExpiry ? "New keys must have an expiry." : ""
    }
}
