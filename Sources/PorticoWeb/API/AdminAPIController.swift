import Foundation
import Hummingbird
import PorticoCore

/// The admin JSON API under `/api/v1`: thin routes over the services.
struct AdminAPIController {
    let users: UserService
    let groups: GroupService
    let apis: APIService
    let documents: APIDocumentService
    let accesses: AccessService
    let plans: PlanService
    let usage: UsageService
    let keys: KeyService
    let authSettings: AuthSettingsService
    let identityProviders: IdentityProviderService
    let catalog: CatalogService
    let explain: ExplainService
    let refusals: RefusalService
    let applications: ApplicationService
    let keyPolicy: KeyPolicyService
    /// For the resources' row versions (`ETag`).
    let store: AdminStore

    typealias Context = AdminRequestContext

    func addRoutes(to group: RouterGroup<Context>) {
        addIdentityProviderRoutes(to: group)
        addCatalogRoutes(to: group)
        group.post("explain") { request, context in
            JSONResponse(try await explain.explain(try await JSONCoding.decode(ExplainInput.self, from: request, context: context)))
        }
        group.get("users/{id}/refusals") { _, context in JSONResponse(try await refusals.recent(of: try context.id(of: "user"))) }
        group.get("refusals") { request, _ in
            guard let requestId = request.uri.queryParameters.get("requestId") else {
                throw PorticoError.invalid(field: "requestId", reason: "is required: the X-Request-Id of the refused call")
            }
            return JSONResponse(try await refusals.find(requestId: requestId))
        }
        group.post("users") { request, context in
            let body = try await JSONCoding.decode(CreateUserBody.self, from: request, context: context)
            let user = try await users.create(
                UserInput(email: body.email, name: body.name, groups: body.groups, role: body.role), by: context.actor)
            return try await versioned(user, .users, id: user.id, status: .created)
        }
        group.get("users") { request, context in
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 50, 1), 500)
            let offset = max(request.uri.queryParameters.get("offset", as: Int.self) ?? 0, 0)
            let search = request.uri.queryParameters.get("search")
            return JSONResponse(try await users.list(search: search, limit: limit, offset: offset))
        }
        group.get("users/{id}") { _, context in
            let id = try context.id(of: "user")
            return try await versioned(try await users.get(id), .users, id: id)
        }
        group.patch("users/{id}") { request, context in
            let id = try context.id(of: "user")
            let body = try await JSONCoding.decode(PatchUserBody.self, from: request, context: context)
            let patch = UserPatch(email: body.email, name: body.name, groups: body.groups, role: body.role, disabled: body.disabled)
            let user = try await RowVersion.expecting(try Self.ifMatch(request), of: .users, id: id) {
                try await users.update(id, patch, by: context.actor)
            }
            return try await versioned(user, .users, id: id)
        }
        group.delete("users/{id}") { request, context in
            let id = try context.id(of: "user")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .users, id: id) { try await users.delete(id, by: context.actor) }
            return HTTPResponse.Status.noContent
        }

        group.post("groups") { request, context in
            let body = try await JSONCoding.decode(CreateGroupBody.self, from: request, context: context)
            let created = try await groups.create(name: body.name, by: context.actor)
            return try await versioned(created, .groups, id: created.id, status: .created)
        }
        group.get("groups") { _, _ in JSONResponse(try await groups.list()) }
        group.get("groups/{id}") { _, context in
            let id = try context.id(of: "group")
            return try await versioned(try await groups.get(id), .groups, id: id)
        }
        group.delete("groups/{id}") { request, context in
            let id = try context.id(of: "group")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .groups, id: id) { try await groups.delete(id, by: context.actor) }
            return HTTPResponse.Status.noContent
        }
        group.get("groups/{id}/members") { _, context in
            JSONResponse(try await groups.members(of: try context.id(of: "group")))
        }
        group.put("groups/{id}/members/{userId}") { _, context in
            try await groups.addMember(try context.id("userId", of: "user"), to: try context.id(of: "group"), by: context.actor)
            return HTTPResponse.Status.noContent
        }
        group.delete("groups/{id}/members/{userId}") { _, context in
            try await groups.removeMember(try context.id("userId", of: "user"), from: try context.id(of: "group"), by: context.actor)
            return HTTPResponse.Status.noContent
        }

        group.post("apis") { request, context in
            let body = try await JSONCoding.decode(CreateAPIBody.self, from: request, context: context)
            let input = APIInput(
                name: body.name, pathPrefix: body.pathPrefix, upstream: body.upstream, stripPrefix: body.stripPrefix,
                host: body.host, status: body.status, forwardCredential: body.forwardCredential, maxBodyBytes: body.maxBodyBytes,
                openapiUrl: body.openapiUrl)
            let created = try await apis.create(input, by: context.actor)
            return try await versioned(created, .apis, id: created.id, status: .created)
        }
        group.get("apis") { _, _ in JSONResponse(try await apis.list()) }
        group.get("apis/{id}") { _, context in
            let id = try context.id(of: "API")
            return try await versioned(try await apis.get(id), .apis, id: id)
        }
        group.patch("apis/{id}") { request, context in
            let id = try context.id(of: "API")
            let body = try await JSONCoding.decode(PatchAPIBody.self, from: request, context: context)
            let updated = try await RowVersion.expecting(try Self.ifMatch(request), of: .apis, id: id) {
                try await apis.update(id, body.patch, by: context.actor)
            }
            return try await versioned(updated, .apis, id: id)
        }
        group.delete("apis/{id}") { request, context in
            let id = try context.id(of: "API")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .apis, id: id) { try await apis.delete(id, by: context.actor) }
            return HTTPResponse.Status.noContent
        }
        addDocumentRoutes(to: group)

        group.post("accesses") { request, context in
            let body = try await JSONCoding.decode(CreateAccessBody.self, from: request, context: context)
            let created = try await accesses.create(body.input, by: context.actor)
            return try await versioned(created, .accesses, id: created.id, status: .created)
        }
        group.get("accesses") { _, _ in JSONResponse(try await accesses.list()) }
        group.get("accesses/{id}") { _, context in
            let id = try context.id(of: "access")
            return try await versioned(try await accesses.get(id), .accesses, id: id)
        }
        group.patch("accesses/{id}") { request, context in
            let id = try context.id(of: "access")
            let body = try await JSONCoding.decode(PatchAccessBody.self, from: request, context: context)
            let updated = try await RowVersion.expecting(try Self.ifMatch(request), of: .accesses, id: id) {
                try await accesses.update(id, body.patch, by: context.actor)
            }
            return try await versioned(updated, .accesses, id: id)
        }
        group.delete("accesses/{id}") { request, context in
            let id = try context.id(of: "access")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .accesses, id: id) { try await accesses.delete(id, by: context.actor) }
            return HTTPResponse.Status.noContent
        }

        group.post("plans") { request, context in
            let body = try await JSONCoding.decode(PlanBody.self, from: request, context: context)
            let created = try await plans.create(body.input, by: context.actor)
            return try await versioned(created, .plans, id: created.id, status: .created)
        }
        group.get("plans") { _, _ in JSONResponse(try await plans.list()) }
        group.get("plans/{id}") { _, context in
            let id = try context.id(of: "plan")
            return try await versioned(try await plans.get(id), .plans, id: id)
        }
        group.patch("plans/{id}") { request, context in
            let id = try context.id(of: "plan")
            let body = try await JSONCoding.decode(PlanBody.self, from: request, context: context)
            let updated = try await RowVersion.expecting(try Self.ifMatch(request), of: .plans, id: id) {
                try await plans.update(id, body.input, by: context.actor)
            }
            return try await versioned(updated, .plans, id: id)
        }
        group.delete("plans/{id}") { request, context in
            let id = try context.id(of: "plan")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .plans, id: id) { try await plans.delete(id, by: context.actor) }
            return HTTPResponse.Status.noContent
        }

        group.get("usage") { request, _ in
            var parameters: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
            let query = try UsageQuery(parameters)
            var user: User?
            if let text = query.user { user = try await resolveUser(text) }
            var api: APIDefinition?
            if let text = query.api { api = try await resolveAPI(text) }
            return JSONResponse(
                try await usage.series(
                    user: user, api: api, application: query.application, from: query.from, to: query.to, granularity: query.granularity))
        }

        group.post("users/{id}/keys") { request, context in
            let userId = try context.id(of: "user")
            let body = try await JSONCoding.decode(CreateKeyBody.self, from: request, context: context)
            let key = KeyRequest(name: body.name, expiresAt: body.expiresAt, applicationId: body.applicationId, scopes: body.scopes)
            return JSONResponse(try await keys.create(for: userId, key, by: context.actor), status: .created)
        }
        group.post("keys/{id}/rotate") { request, context in
            let body = try await JSONCoding.decode(RotateKeyBody.self, from: request, context: context)
            return JSONResponse(
                try await keys.rotate(try context.id(of: "key"), overlapSeconds: body.overlapSeconds, by: context.actor), status: .created)
        }
        group.get("users/{id}/applications") { _, context in JSONResponse(try await applications.list(for: try context.id(of: "user"))) }
        group.post("users/{id}/applications") { request, context in
            let body = try await JSONCoding.decode(ApplicationBody.self, from: request, context: context)
            let created = try await applications.create(
                for: try context.id(of: "user"), name: body.name ?? "", description: body.description, by: context.actor)
            return JSONResponse(created, status: .created)
        }
        group.get("applications/{id}") { _, context in JSONResponse(try await applications.get(try context.id(of: "application"))) }
        group.patch("applications/{id}") { request, context in
            let body = try await JSONCoding.decode(ApplicationBody.self, from: request, context: context)
            return JSONResponse(
                try await applications.update(try context.id(of: "application"), name: body.name, description: body.description, by: context.actor))
        }
        group.delete("applications/{id}") { _, context in
            try await applications.delete(try context.id(of: "application"), by: context.actor)
            return HTTPResponse.Status.noContent
        }
        group.get("key-policy") { _, _ in JSONResponse(try await keyPolicy.current()) }
        group.put("key-policy") { request, context in
            JSONResponse(try await keyPolicy.save(try await JSONCoding.decode(KeyPolicy.self, from: request, context: context), by: context.actor))
        }
        group.get("users/{id}/keys") { _, context in JSONResponse(try await keys.list(for: try context.id(of: "user"))) }
        group.delete("keys/{id}") { _, context in
            JSONResponse(try await keys.revoke(try context.id(of: "key"), by: context.actor))
        }

        group.get("auth-settings") { _, _ in try await versioned(try await authSettings.current(), .authSettings, id: nil) }
        group.put("auth-settings") { request, context in
            let body = try await JSONCoding.decode(AuthSettingsInput.self, from: request, context: context)
            let update = try await RowVersion.expecting(try Self.ifMatch(request), of: .authSettings, id: nil) {
                try await authSettings.update(body, by: context.actor)
            }
            return try await versioned(update, .authSettings, id: nil)
        }
        group.post("auth-settings/preview") { request, context in
            let body = try await JSONCoding.decode(AuthSettingsInput.self, from: request, context: context)
            return JSONResponse(try await authSettings.preview(body))
        }
    }
}

extension AdminAPIController {
    func addIdentityProviderRoutes(to group: RouterGroup<Context>) {
        group.post("identity-providers") { request, context in
            let settings = try await JSONCoding.decode(IdentityProviderSettings.self, from: request, context: context)
            let created = try await identityProviders.create(settings, by: context.actor)
            return try await versioned(created, .identityProviders, id: created.id, status: .created)
        }
        group.get("identity-providers") { _, _ in JSONResponse(try await identityProviders.list()) }
        group.get("identity-providers/{id}") { _, context in
            let id = try context.id(of: "identity provider")
            return try await versioned(try await identityProviders.get(id), .identityProviders, id: id)
        }
        group.patch("identity-providers/{id}") { request, context in
            let id = try context.id(of: "identity provider")
            let patch = try await JSONCoding.decode([String: JSONValue].self, from: request, context: context)
            let updated = try await RowVersion.expecting(try Self.ifMatch(request), of: .identityProviders, id: id) {
                try await identityProviders.update(id, patch: patch, by: context.actor)
            }
            return try await versioned(updated, .identityProviders, id: id)
        }
        group.delete("identity-providers/{id}") { request, context in
            let id = try context.id(of: "identity provider")
            try await RowVersion.expecting(try Self.ifMatch(request), of: .identityProviders, id: id) {
                try await identityProviders.delete(id, by: context.actor)
            }
            return HTTPResponse.Status.noContent
        }
    }

    /// The version an `If-Match` header expects; nil without one. A header naming no version of ours is a 412.
    static func ifMatch(_ request: Request) throws -> Int64? {
        switch RowVersion.fromIfMatch(request.headers[.ifMatch]) {
        case .none: return nil
        case .some(nil): throw PorticoError.changedSinceRead("If-Match names no version of this resource; send the ETag it was read with")
        case .some(let version?): return version
        }
    }

    /// `value` as JSON with the row's current version as `ETag`.
    func versioned(_ value: some Encodable & Sendable, _ table: RowVersion.Table, id: UUID?, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let logger = store.database.logger
        let version = try await store.read { try await RowVersion.current(of: table, id: id, on: $0, logger: logger) }
        var response = try JSONResponse(value, status: status).response()
        if let version { response.headers[.eTag] = RowVersion.etag(version) }
        return response
    }

    /// A user named by id or email; an unknown one is an error naming the `user` parameter.
    private func resolveUser(_ text: String) async throws -> User {
        if let id = UUID(uuidString: text) {
            do { return try await users.get(id) } catch PorticoError.notFound { throw PorticoError.invalid(field: "user", reason: "no user \(text)") }
        }
        guard let user = try await users.find(email: text) else { throw PorticoError.invalid(field: "user", reason: "no user '\(text)'") }
        return user
    }

    /// An API named by name or id; an unknown one is an error naming the `api` parameter.
    private func resolveAPI(_ text: String) async throws -> APIDefinition {
        guard let api = try await apis.list().first(where: { $0.name == text || $0.id.uuidString == text.uppercased() }) else {
            throw PorticoError.invalid(field: "api", reason: "no API '\(text)'")
        }
        return api
    }
}
