import Foundation
import Hummingbird
import NIOCore
import PorticoCatalog
import PorticoCore
import PorticoStore

/// An API's OpenAPI document under `/api/v1/apis/{id}/openapi`: the body of a PUT is the document itself, JSON or
/// YAML, up to `APIDocument.maxBytes`.
extension AdminAPIController {
    func addDocumentRoutes(to group: RouterGroup<Context>) {
        group.put("apis/{id}/openapi") { request, context in
            let id = try context.id(of: "API")
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: APIDocument.maxBytes)
            } catch {
                throw PorticoError.tooLarge("the OpenAPI document is larger than \(APIDocument.maxBytes >> 20) MiB")
            }
            let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
            return JSONResponse(try await documents.upload(text, to: id, by: context.actor))
        }
        group.post("apis/{id}/openapi/refresh") { _, context in
            JSONResponse(try await documents.refresh(try context.id(of: "API"), by: context.actor))
        }
        group.get("apis/{id}/openapi") { _, context in
            let stored = try await documents.stored(of: try context.id(of: "API"))
            let type = stored.format == APIDocument.Format.yaml.rawValue ? "application/yaml" : "application/json"
            return Response(
                status: .ok, headers: [.contentType: type, .eTag: "\"\(stored.sha256)\""],
                body: .init(byteBuffer: ByteBuffer(string: stored.source)))
        }
        group.delete("apis/{id}/openapi") { _, context in
            try await documents.delete(of: try context.id(of: "API"), by: context.actor)
            return HTTPResponse.Status.noContent
        }
    }
}
