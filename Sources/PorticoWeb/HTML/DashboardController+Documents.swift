import Foundation
import Hummingbird
import PorticoCore
import PorticoStore

/// An API's OpenAPI document on its dashboard page: pasted (or read from a file by the page's script), fetched again
/// from `openapiUrl`, or deleted.
extension DashboardController {
    func addDocumentRoutes(to group: RouterGroup<Context>) {
        group.post("apis/{id}/openapi") { _, context in
            let id = try context.id(of: "API")
            let text = context.web.form["document"] ?? ""
            do {
                let saved = try await documents.upload(text, to: id, by: context.actor)
                return PageRenderer.redirect(
                    to: "/admin/apis/\(id)", flash: "Saved the OpenAPI document \(saved.title) \(saved.documentVersion).", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: ["document": text]) else { throw error }
                return try await apiDetail(id, context: context, documentFeedback: feedback)
            }
        }
        group.post("apis/{id}/openapi/refresh") { _, context in
            let id = try context.id(of: "API")
            do {
                let saved = try await documents.refresh(id, by: context.actor)
                return PageRenderer.redirect(
                    to: "/admin/apis/\(id)", flash: "Fetched the OpenAPI document \(saved.title) \(saved.documentVersion) again.", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: [:]) else { throw error }
                return try await apiDetail(id, context: context, documentFeedback: feedback)
            }
        }
        group.get("apis/{id}/openapi/delete") { _, context in
            let id = try context.id(of: "API")
            let stored = try await documents.stored(of: id)
            return renderer.page(
                "confirm", title: "Delete the OpenAPI document?",
                [
                    "question": "Delete the OpenAPI document \(stored.title) \(stored.documentVersion)? The portal stops showing it at once.",
                    "action": "/admin/apis/\(id)/openapi/delete", "button": "Delete document", "back": "/admin/apis/\(id)",
                ], context: context, section: "apis")
        }
        group.post("apis/{id}/openapi/delete") { _, context in
            let id = try context.id(of: "API")
            try await documents.delete(of: id, by: context.actor)
            return PageRenderer.redirect(to: "/admin/apis/\(id)", flash: "Deleted the OpenAPI document.", context: context)
        }
    }

    /// What the API page says of the stored document; nil when there is none.
    func documentFacts(of api: APIDefinition) async throws -> [String: Any]? {
        let stored: StoredAPIDocument
        do {
            stored = try await documents.stored(of: api.id)
        } catch PorticoError.notFound {
            return nil
        }
        return [
            "title": stored.title, "version": stored.documentVersion, "openapiVersion": stored.openapiVersion,
            "operations": stored.operationCount, "format": stored.format.uppercased(), "fetchedFrom": stored.fetchedFrom ?? "",
            "updated": Format.date(stored.updatedAt), "sha256": String(stored.sha256.prefix(12)),
        ]
    }
}
