import Foundation
import Hummingbird
import PorticoCore

/// The catalog under `/api/v1`: an API's entry (`/apis/{id}/catalog`) and consumers' access requests
/// (`/access-requests`), which admins approve or reject as on the dashboard.
extension AdminAPIController {
    func addCatalogRoutes(to group: RouterGroup<Context>) {
        group.get("apis/{id}/catalog") { _, context in JSONResponse(try await catalog.settings(of: try context.id(of: "API"))) }
        group.put("apis/{id}/catalog") { request, context in
            let settings = try await JSONCoding.decode(APICatalogSettings.self, from: request, context: context)
            return JSONResponse(try await catalog.save(settings, of: try context.id(of: "API"), by: context.actor))
        }
        group.get("access-requests") { request, _ in
            let text = request.uri.queryParameters.get("status")
            guard let status = text.map({ AccessRequestStatus(rawValue: String($0)) }) ?? .some(nil) else {
                throw PorticoError.invalid(field: "status", reason: "'\(text ?? "")' is not pending, approved or rejected")
            }
            return JSONResponse(try await catalog.requests(status: status))
        }
        group.get("access-requests/{id}") { _, context in JSONResponse(try await catalog.get(try context.id(of: "access request"))) }
        group.post("access-requests") { request, context in
            let body = try await JSONCoding.decode(CreateAccessRequestBody.self, from: request, context: context)
            let user = try await users.get(body.userId)
            let api = try await apis.id(named: body.api)
            let created = try await catalog.request(api: api, plan: body.plan, reason: body.reason, by: user, actor: context.actor)
            return EditedResponse(status: .created, response: JSONResponse(created))
        }
        group.post("access-requests/{id}/approve") { _, context in
            JSONResponse(try await catalog.approve(try context.id(of: "access request"), by: context.actor))
        }
        group.post("access-requests/{id}/reject") { request, context in
            let body = try await JSONCoding.decode(RejectAccessRequestBody.self, from: request, context: context)
            return JSONResponse(try await catalog.reject(try context.id(of: "access request"), reason: body.reason, by: context.actor))
        }
    }
}

/// A request made by an admin for a consumer: `{userId, api, plan?, reason}`.
struct CreateAccessRequestBody: Decodable {
    var userId: UUID
    var api: String
    var plan: String?
    var reason: String
}

struct RejectAccessRequestBody: Decodable {
    var reason: String
}
