import Foundation
import Hummingbird
import PorticoCore

/// Identity providers: OpenID providers discovered when saved.
extension DashboardController {
    func addIdentityProviderRoutes(to group: RouterGroup<Context>) {
        group.get("identity-providers") { request, context in try await providerList(request: request, context: context) }
        group.post("identity-providers") { _, context in
            let form = context.web.form
            do {
                let created = try await identityProviders.create(fields: IdentityProviderForm.fields(from: form), by: context.actor)
                return PageRenderer.redirect(
                    to: "/admin/identity-providers/\(created.id)", flash: "Created identity provider \(created.settings.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await providerList(request: nil, context: context, feedback: feedback)
            }
        }
        group.get("identity-providers/{id}") { _, context in try await providerDetail(try context.id(of: "identity provider"), context: context) }
        group.post("identity-providers/{id}") { _, context in
            let id = try context.id(of: "identity provider")
            let form = context.web.form
            do {
                let fields = IdentityProviderForm.fields(from: form)
                let saved = try await RowVersion.expecting(Self.openedVersion(form), of: .identityProviders, id: id) {
                    try await identityProviders.update(id, patch: fields, by: context.actor)
                }
                return PageRenderer.redirect(
                    to: "/admin/identity-providers/\(id)", flash: "Saved identity provider \(saved.settings.name).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return try await providerDetail(id, context: context, feedback: feedback)
            }
        }
        addDeleteRoutes(
            to: group,
            Deletion(
                path: "identity-providers", entity: "identity provider", load: identityProviders.get, delete: identityProviders.delete,
                describe: { ($0.settings.name, "Delete identity provider \($0.settings.name) (\($0.settings.issuer))?") }))
    }

    func providerList(request: Request?, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        var values = feedback?.dictionary ?? [:]
        let page = Paging.slice(try await identityProviders.list(), request: request, context: context, link: "/admin/identity-providers")
        values["providers"] = page.rows.map { provider in
            [
                "id": provider.id.uuidString, "name": provider.settings.name, "issuer": provider.settings.issuer,
                "uses": Self.uses(of: provider.settings).joined(separator: ", "),
            ] as [String: Any]
        }
        values["paging"] = page.paging
        if feedback == nil { values["values"] = ["scopes": "openid profile email", "groupsClaim": "groups", "userIdClaim": "sub"] }
        return renderer.page(
            "identity-providers", title: "Identity providers", values, context: context, section: "identityProviders",
            status: feedback == nil ? .ok : .unprocessableContent)
    }

    func providerDetail(_ id: UUID, context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let provider = try await identityProviders.get(id)
        var values = feedback?.dictionary ?? [:]
        values["version"] = try await versions.current(.identityProviders, id: id).map(String.init) ?? ""
        let stored = IdentityProviderForm.values(of: provider)
        if feedback == nil { values["values"] = stored }
        values["secretIsSet"] = stored["secretIsSet"] != nil
        values["provider"] = ["id": provider.id.uuidString, "name": provider.settings.name]
        let discovered = provider.discovered
        values["discovered"] = [
            "authorizationEndpoint": discovered.authorizationEndpoint, "tokenEndpoint": discovered.tokenEndpoint,
            "jwksURI": discovered.jwksURI, "userinfoEndpoint": discovered.userinfoEndpoint ?? "",
            "endSessionEndpoint": discovered.endSessionEndpoint ?? "", "algorithms": discovered.signingAlgorithms.joined(separator: ", "),
            "authMethod": discovered.tokenEndpointAuthMethod,
            "redirectURI": signInPages.providers.redirectURI(provider: provider.settings.name),
        ]
        return renderer.page(
            "identity-provider", title: "Identity provider \(provider.settings.name)", values, context: context, section: "identityProviders",
            status: feedback == nil ? .ok : .unprocessableContent)
    }

    /// What a provider is configured for, in words.
    static func uses(of settings: IdentityProviderSettings) -> [String] {
        var uses: [String] = []
        if settings.signIn?.dashboard == true { uses.append("dashboard sign-in") }
        if settings.signIn?.portal == true { uses.append("portal sign-in") }
        if settings.acceptTokens == true { uses.append("tokens in JWT mode") }
        return uses
    }
}
