import Foundation
import Hummingbird
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Synchronization
import Testing

/// APIs' OpenAPI documents through the admin API and the portal: uploaded or fetched from `openapiUrl`, checked in
/// full before anything is stored, served back, and published to consumers with the gateway as their server.
@Suite struct APIDocumentsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/openapi").standardized
    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }
    /// A consumer in `groups`, signed in to the portal with a password.
    static func signInConsumer(in groups: [String], web: WebClient, portico: TestPortico) async throws {
        let (consumer, _) = try await portico.seedConsumer(email: "c@example.com", groups: groups)
        try await setPassword("consumer password 1", for: consumer.id, in: portico)
        _ = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")
    }

    static let noResponses = "openapi: 3.0.3\ninfo: {title: Broken, version: '1'}\npaths:\n  /a:\n    get: {}\n"

    @Test func anUploadedDocumentIsStoredWithItsFactsAndServedBack() async throws {
        try await withAdminAPI { admin, portico in
            let api = try await admin.call(.post, "/apis", #"{"name":"petstore","pathPrefix":"/pets","upstream":"http://127.0.0.1:9"}"#)
            let petstore = try Self.fixture("swagger-petstore.yaml")
            let audited = try await auditCount(portico)

            let saved = try await admin.call(.put, "/apis/\(api.id)/openapi", petstore)
            #expect(saved.status == .ok)
            #expect(saved.json["title"] as? String == "Swagger Petstore - OpenAPI 3.0")
            #expect(saved.json["openapiVersion"] as? String == "3.0.4")
            #expect(saved.json["format"] as? String == "yaml")
            #expect(saved.json["operationCount"] as? Int == 19)
            #expect((saved.json["sha256"] as? String)?.count == 64)
            #expect(saved.json["source"] == nil, "the document is served on its own route, not in every answer")
            #expect(try await auditCount(portico) == audited + 1)

            let served = try await admin.call(.get, "/apis/\(api.id)/openapi")
            #expect(served.status == .ok)
            #expect(served.headers[.contentType] == "application/yaml")
            #expect(String(decoding: served.body, as: UTF8.self) == petstore)

            #expect(try await admin.call(.delete, "/apis/\(api.id)/openapi").status == .noContent)
            #expect(try await admin.call(.get, "/apis/\(api.id)/openapi").status == .notFound)
            #expect(try await admin.call(.delete, "/apis/\(api.id)/openapi").status == .notFound)
        }
    }

    @Test func anUnusableDocumentIs422NamingWhereAndTheStoredOneStays() async throws {
        try await withAdminAPI { admin, portico in
            let api = try await admin.call(.post, "/apis", #"{"name":"petstore","pathPrefix":"/pets","upstream":"http://127.0.0.1:9"}"#)
            let petstore = try Self.fixture("oai-v3.0-petstore-expanded.json")
            #expect(try await admin.call(.put, "/apis/\(api.id)/openapi", petstore).status == .ok)
            let audited = try await auditCount(portico)

            for (document, words) in [
                (Self.noResponses, "$.paths['/a']: "), ("{\"openapi\": ", "document: is not valid JSON"),
                ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "Swagger 2.0 is not supported"), ("", "document: is empty"),
            ] {
                let refused = try await admin.call(.put, "/apis/\(api.id)/openapi", document)
                #expect(refused.status == .unprocessableContent, "\(document)")
                #expect(refused.errorCode == "invalid_input")
                #expect(refused.message.contains(words), "\(refused.message)")
            }
            #expect(try await auditCount(portico) == audited, "nothing was written")
            let served = try await admin.call(.get, "/apis/\(api.id)/openapi")
            #expect(String(decoding: served.body, as: UTF8.self) == petstore)
            #expect(try await admin.call(.put, "/apis/\(UUID())/openapi", petstore).status == .notFound)
        }
    }

    @Test func aDocumentOverEightMiBIs413() async throws {
        try await withAdminAPI { admin, _ in
            let api = try await admin.call(.post, "/apis", #"{"name":"big","pathPrefix":"/big","upstream":"http://127.0.0.1:9"}"#)
            let huge = "openapi: 3.0.3\n# " + String(repeating: "x", count: 8 << 20)
            let refused = try await admin.call(.put, "/apis/\(api.id)/openapi", huge)
            #expect(refused.status == .contentTooLarge)
            #expect(refused.message.contains("8 MiB"))
        }
    }

    @Test func aDocumentIsFetchedFromOpenapiUrlWhenSavedAndOnRefresh() async throws {
        let served = Mutex(try Self.fixture("oai-v3.1-tictactoe.yaml"))
        let router = Router()
        router.get("docs/openapi.yaml") { _, _ in served.withLock { $0 } }
        router.get("docs/broken.yaml") { _, _ in Self.noResponses }
        try await withUpstream(router.buildResponder()) { port in
            try await withAdminAPI { admin, _ in
                let upstream = "http://127.0.0.1:\(port)"
                let created = try await admin.call(
                    .post, "/apis", #"{"name":"games","pathPrefix":"/games","upstream":"\#(upstream)","openapiUrl":"/docs/openapi.yaml"}"#)
                #expect(created.status == .created)
                #expect(created.json["openapiUrl"] as? String == "/docs/openapi.yaml")
                let first = try await admin.call(.get, "/apis/\(created.id)/openapi")
                #expect(String(decoding: first.body, as: UTF8.self).contains("Tic Tac Toe"))

                served.withLock { $0 = $0.replacingOccurrences(of: "title: Tic Tac Toe", with: "title: Noughts and Crosses") }
                let refreshed = try await admin.call(.post, "/apis/\(created.id)/openapi/refresh")
                #expect(refreshed.status == .ok)
                #expect(refreshed.json["title"] as? String == "Noughts and Crosses")
                #expect(refreshed.json["fetchedFrom"] as? String == "\(upstream)/docs/openapi.yaml")

                // A document that cannot be had or used refuses the whole save.
                for (url, words) in [
                    ("/docs/missing.yaml", "answered HTTP 404"), ("/docs/broken.yaml", "is not usable: $.paths['/a']"),
                    ("http://127.0.0.1:9/openapi.json", "failed"), ("ftp://example.com/x", "must be an http(s) URL"),
                ] {
                    let refused = try await admin.call(
                        .post, "/apis", #"{"name":"other","pathPrefix":"/other","upstream":"\#(upstream)","openapiUrl":"\#(url)"}"#)
                    #expect(refused.status == .unprocessableContent, "\(url)")
                    #expect(refused.message.hasPrefix("openapiUrl: "), "\(refused.message)")
                    #expect(refused.message.contains(words), "\(refused.message)")
                    let patched = try await admin.call(.patch, "/apis/\(created.id)", #"{"openapiUrl":"\#(url)"}"#)
                    #expect(patched.status == .unprocessableContent, "\(url)")
                }
                #expect(try await admin.call(.get, "/apis").array.count == 1, "no API was created")
                let api = try await admin.call(.get, "/apis/\(created.id)")
                #expect(api.json["openapiUrl"] as? String == "/docs/openapi.yaml", "nor changed")

                let uploadOnly = try await admin.call(.post, "/apis", #"{"name":"plain","pathPrefix":"/plain","upstream":"\#(upstream)"}"#)
                let nothingToFetch = try await admin.call(.post, "/apis/\(uploadOnly.id)/openapi/refresh")
                #expect(nothingToFetch.status == .unprocessableContent)
                #expect(nothingToFetch.message.contains("has no openapiUrl"))
            }
        }
    }

    @Test func aConsumerGetsTheDocumentOfAnAPITheyMayCallWithTheGatewayAsItsServer() async throws {
        try await withDashboard { web, portico in
            let stripped = try await portico.createAPI("petstore", prefix: "/pets", upstreamPort: 9, stripPrefix: true)
            let kept = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: 9)
            let hidden = try await portico.createAPI("hidden", prefix: "/hidden", upstreamPort: 9)
            let documents = APIDocumentService(store: portico.store)
            for api in [stripped, kept, hidden] {
                _ = try await documents.upload(try Self.fixture("swagger-petstore.yaml"), to: api.id, by: portico.actor)
            }
            let noDocument = try await portico.createAPI("bare", prefix: "/bare", upstreamPort: 9)
            try await portico.grant("buyers", groups: ["buyers"], apis: ["petstore", "orders", "bare"])
            #expect(try await web.get("/portal/apis/\(stripped.id)/openapi.json").status == 303, "signed out: to sign-in")
            try await Self.signInConsumer(in: ["buyers"], web: web, portico: portico)

            for (api, server) in [(stripped, "http://127.0.0.1:8000/pets"), (kept, "http://127.0.0.1:8000")] {
                let page = try await web.get("/portal/apis/\(api.id)/openapi.json")
                #expect(page.status == 200)
                #expect(page.headers[.contentType] == "application/json")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(page.html.utf8)) as? [String: Any])
                #expect((json["servers"] as? [[String: Any]])?.map { $0["url"] as? String } == [server])
                #expect(json["openapi"] as? String == "3.0.4")
                #expect((json["paths"] as? [String: Any])?.count == 13)
            }
            #expect(try await web.get("/portal/apis/\(hidden.id)/openapi.json").status == 404, "no access: as if it did not exist")
            #expect(try await web.get("/portal/apis/\(noDocument.id)/openapi.json").status == 404)
            #expect(try await web.get("/portal/apis/\(UUID())/openapi.json").status == 404)
        }
    }

    @Test func theDashboardSavesFetchesAndDeletesAnAPIsDocument() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("petstore", prefix: "/pets", upstreamPort: 9)
            _ = try await web.signIn()
            let empty = try await web.get("/admin/apis/\(api.id)")
            #expect(empty.contains("No document yet"))
            #expect(!empty.contains("Fetch it again"), "nothing to fetch from without a document URL")

            let refused = try await web.post("/admin/apis/\(api.id)/openapi", [("document", Self.noResponses)])
            #expect(refused.status == 422)
            #expect(refused.text.contains("$.paths['/a']: "))
            #expect(refused.contains("<textarea id=\"api-openapi-document\" name=\"document\""), "the text stays to be mended")
            #expect(refused.contains("value=\"/pets\""), "the API's own form still shows the API")

            let saved = try await web.post("/admin/apis/\(api.id)/openapi", [("document", try Self.fixture("swagger-petstore.yaml"))])
            #expect(saved.location == "/admin/apis/\(api.id)")
            let page = try await web.get("/admin/apis/\(api.id)")
            #expect(page.contains("Saved the OpenAPI document Swagger Petstore - OpenAPI 3.0 1.0.27-SNAPSHOT."))
            #expect(page.contains("3.0.4, YAML, 19 operations"))
            #expect(page.contains("uploaded"))

            let noURL = try await web.post("/admin/apis/\(api.id)/openapi/refresh")
            #expect(noURL.status == 422)
            #expect(noURL.contains("has no openapiUrl"))

            #expect(try await web.get("/admin/apis/\(api.id)/openapi/delete").contains("Delete the OpenAPI document Swagger Petstore"))
            let deleted = try await web.post("/admin/apis/\(api.id)/openapi/delete")
            #expect(deleted.location == "/admin/apis/\(api.id)")
            #expect(try await web.get("/admin/apis/\(api.id)").contains("No document yet"))
        }
    }

    @Test func thePortalRendersTheDocumentWithCurlLinesForTheCurrentMode() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("petstore", prefix: "/pets", upstreamPort: 9, stripPrefix: true)
            let bare = try await portico.createAPI("bare", prefix: "/bare", upstreamPort: 9)
            let hidden = try await portico.createAPI("hidden", prefix: "/hidden", upstreamPort: 9)
            let hostile = try Self.fixture("swagger-petstore.yaml").replacingOccurrences(
                of: "description: Returns a single pet.", with: "description: 'Returns a single pet. <script>alert(1)</script> **now**'")
            _ = try await APIDocumentService(store: portico.store).upload(hostile, to: api.id, by: portico.actor)
            try await portico.grant("buyers", groups: ["buyers"], apis: ["petstore", "bare"])
            try await Self.signInConsumer(in: ["buyers"], web: web, portico: portico)

            let list = try await web.get("/portal")
            #expect(list.contains("<a href=\"/portal/apis/\(api.id)\">petstore</a>"))
            let page = try await web.get("/portal/apis/\(api.id)")
            #expect(page.status == 200)
            #expect(page.contains("Swagger Petstore - OpenAPI 3.0"))
            #expect(page.contains(#"<span class="method method-GET">GET</span> <code>/pets/pet/{petId}</code>"#))
            #expect(page.contains("Find pet by ID."))
            #expect(page.contains("<strong>now</strong>"), "the description's CommonMark is rendered")
            #expect(!page.contains("<script>alert"), "and its HTML is not")
            #expect(page.contains(##"<td class="depth-0"><code>category</code></td><td><a href="#schema-Category">Category</a></td>"##))
            #expect(page.contains(#"<article class="card" id="schema-Category">"#), "the component's own table, which the link reaches")
            #expect(page.text.contains(#"curl -H 'Authorization: Bearer '"$PORTICO_KEY" 'http://127.0.0.1:8000/pets/pet/{petId}'"#))
            #expect(page.contains("/portal/apis/\(api.id)/openapi.json"))

            _ = try await portico.useJWT([
                "signingSecret": "a portal test secret of at least 32 bytes", "tokenSources": ["header": NSNull(), "query": "access_token"],
            ])
            let jwtPage = try await web.get("/portal/apis/\(api.id)")
            #expect(jwtPage.text.contains(#"curl 'http://127.0.0.1:8000/pets/pet/{petId}?access_token='"$JWT""#))

            // The rendered document is kept, but a new version of it shows at once.
            _ = try await APIDocumentService(store: portico.store).upload(
                hostile.replacingOccurrences(of: "title: Swagger Petstore - OpenAPI 3.0", with: "title: Petstore Two"), to: api.id, by: portico.actor)
            #expect(try await web.get("/portal/apis/\(api.id)").contains("Petstore Two"))

            let noDocument = try await web.get("/portal/apis/\(bare.id)")
            #expect(noDocument.status == 200)
            #expect(noDocument.contains("has no OpenAPI document yet"))
            #expect(try await web.get("/portal/apis/\(hidden.id)").status == 404)
        }
    }

    /// `make run`'s demo API takes its document from the echo upstream, which serves one of its own.
    @Test func theEchoUpstreamServesAUsableDocumentOfItsOwn() async throws {
        try await withEchoUpstream { port in
            try await withAdminAPI { admin, _ in
                let created = try await admin.call(
                    .post, "/apis",
                    #"{"name":"demo","pathPrefix":"/demo","upstream":"http://127.0.0.1:\#(port)","stripPrefix":true,"openapiUrl":"/openapi.json"}"#)
                #expect(created.status == .created, "\(created.message)")
                let document = try await admin.call(.post, "/apis/\(created.id)/openapi/refresh")
                #expect(document.json["title"] as? String == "Portico demo echo")
                #expect(document.json["operationCount"] as? Int == 3)
                #expect(document.json["openapiVersion"] as? String == "3.1.0")
            }
        }
    }

    /// An operation, parameter or response without a description shows none, not the one of what encloses it.
    @Test func aMissingDescriptionIsNotBorrowedFromTheEnclosingPart() async throws {
        try await withDashboard { web, portico in
            let api = try await portico.createAPI("tagged", prefix: "/tagged", upstreamPort: 9)
            let document = """
                openapi: 3.1.0
                info: {title: Tagged, version: '1', description: ONLY-THE-DOCUMENT}
                tags: [{name: things, description: ONLY-THE-TAG}]
                paths:
                  /things/{id}:
                    get:
                      tags: [things]
                      description: ONLY-THE-OPERATION
                      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
                      responses: {'200': {description: ONLY-THE-RESPONSE, content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}}
                    delete:
                      tags: [things]
                      responses: {'204': {description: ''}}
                """
            _ = try await APIDocumentService(store: portico.store).upload(document, to: api.id, by: portico.actor)
            try await portico.grant("buyers", groups: ["buyers"], apis: ["tagged"])
            try await Self.signInConsumer(in: ["buyers"], web: web, portico: portico)
            let page = try await web.get("/portal/apis/\(api.id)")
            for text in ["ONLY-THE-DOCUMENT", "ONLY-THE-TAG", "ONLY-THE-OPERATION", "ONLY-THE-RESPONSE"] {
                #expect(page.html.components(separatedBy: text).count == 2, "\(text) once")
            }
        }
    }
}
