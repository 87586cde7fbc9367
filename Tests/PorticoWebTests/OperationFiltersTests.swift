import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// Grants restricted to some operations, through the admin API and at the real gateway: tags and operation ids of
/// the API's document, method and path patterns, a 403 naming the operation, and the most generous grant that
/// covers each operation.
@Suite struct OperationFiltersTests {
    static let document = """
        openapi: 3.0.3
        info: {title: Items, version: '1'}
        paths:
          /items:
            get: {operationId: listItems, tags: [read], responses: {'200': {description: ok}}}
            post: {operationId: addItem, tags: [write], responses: {'201': {description: created}}}
          /items/{id}:
            parameters: [{name: id, in: path, required: true, schema: {type: string}}]
            get: {operationId: getItem, tags: [read], responses: {'200': {description: ok}}}
            delete: {operationId: deleteItem, tags: [write], responses: {'204': {description: gone}}}
        """

    @Test func twoFilteredGrantsEachCoverTheirOperationsAndTheRestIs403NamingIt() async throws {
        try await withEchoUpstream { upstream in
            try await withAdminAPI { admin, portico in
                let api = try await admin.call(
                    .post, "/apis", #"{"name":"items","pathPrefix":"/shop","upstream":"http://127.0.0.1:\#(upstream)","stripPrefix":true}"#)
                for group in ["readers", "admins"] { try await admin.call(.post, "/groups", #"{"name":"\#(group)"}"#) }
                let byTag =
                    #"{"name":"readers","groups":["readers"],"apis":["items"],"rateLimit":{"limit":100,"period":"1m"},"operationFilter":{"tags":["read"]}}"#
                let undocumented = try await admin.call(.post, "/accesses", byTag)
                #expect(undocumented.status == .unprocessableContent)
                #expect(undocumented.message.contains("tags and operation ids need an OpenAPI document"))

                #expect(try await admin.call(.put, "/apis/\(api.id)/openapi", Self.document).status == .ok)
                let unknownTag = try await admin.call(.post, "/accesses", byTag.replacingOccurrences(of: "[\"read\"]", with: "[\"reed\"]"))
                #expect(unknownTag.status == .unprocessableContent)
                #expect(unknownTag.message == "operationFilter.tags: no operation of the grant's APIs has the tag 'reed'")
                let badPattern = try await admin.call(
                    .post, "/accesses",
                    #"{"name":"admins","groups":["admins"],"apis":["items"],"operationFilter":{"operations":["DELETE items"]}}"#)
                #expect(badPattern.message == "operationFilter.operations[0]: the path 'items' does not start with '/'")

                let readers = try await admin.call(.post, "/accesses", byTag)
                #expect(readers.status == .created)
                #expect((readers.json["operationFilter"] as? [String: Any])?["tags"] as? [String] == ["read"])
                let admins = try await admin.call(
                    .post, "/accesses",
                    #"{"name":"admins","groups":["admins"],"apis":["items"],"rateLimit":{"limit":2,"period":"1m"},"operationFilter":{"operations":["DELETE /items/*"]}}"#
                )
                #expect(admins.status == .created)

                let (_, both) = try await portico.seedConsumer(groups: ["readers", "admins"])
                let (_, reader) = try await portico.seedConsumer(groups: ["readers"])
                await portico.reloadPolicy()
                try await portico.withGateway { gateway in
                    let read = try await gateway.get("/shop/items/7", key: both)
                    #expect(read.status == 200)
                    #expect(read.header("X-RateLimit-Limit") == "100")
                    let delete = try await TestHTTP.send(.DELETE, gateway.baseURL + "/shop/items/7", bearer: both)
                    #expect(delete.status == 200)
                    #expect(delete.header("X-RateLimit-Limit") == "2", "the admins grant is the one covering a delete")

                    let add = try await TestHTTP.send(.POST, gateway.baseURL + "/shop/items", bearer: both)
                    #expect(add.status == 403)
                    #expect(try add.json()["error"] as? String == "operation_not_allowed")
                    #expect(try add.json()["message"] as? String == "your access to API 'items' does not cover operation 'addItem' (POST /items)")
                    let readerDelete = try await TestHTTP.send(.DELETE, gateway.baseURL + "/shop/items/7", bearer: reader)
                    #expect(
                        try readerDelete.json()["message"] as? String
                            == "your access to API 'items' does not cover operation 'deleteItem' (DELETE /items/{id})")
                    #expect(try await gateway.get("/shop/items/7/../../admin", key: reader).status == 403, "a dot segment matches no pattern")

                    // Without its filter, the readers grant covers every operation again.
                    #expect(try await admin.call(.patch, "/accesses/\(readers.id)", #"{"operationFilter":null}"#).status == .ok)
                    await portico.reloadPolicy()
                    #expect(try await TestHTTP.send(.POST, gateway.baseURL + "/shop/items", bearer: reader).status == 200)
                }
            }
        }
    }
}
