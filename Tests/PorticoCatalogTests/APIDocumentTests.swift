import Foundation
import PorticoCore
import Testing

@testable import PorticoCatalog

/// Published OpenAPI documents Portico did not write (`Tests/Fixtures/openapi`, sources in its README) parse and
/// validate; documents broken in each way are refused with the JSON path of the problem.
@Suite struct APIDocumentTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/openapi").standardized

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    @Test(arguments: [
        ("swagger-petstore.yaml", "3.0.4", "Swagger Petstore - OpenAPI 3.0", APIDocument.Format.yaml, 19),
        ("oai-v3.0-petstore-expanded.json", "3.0.0", "Swagger Petstore", .json, 4),
        ("oai-v3.0-uspto.yaml", "3.0.1", "USPTO Data Set API", .yaml, 3),
        ("oai-v3.0-api-with-examples.yaml", "3.0.0", "Simple API overview", .yaml, 2),
        ("oai-v3.0-link-example.yaml", "3.0.0", "Link Example", .yaml, 6),
        ("oai-v3.0-callback-example.yaml", "3.0.0", "Callback Example", .yaml, 1),
        ("oai-v3.1-tictactoe.yaml", "3.1.0", "Tic Tac Toe", .yaml, 3),
        ("oai-v3.1-webhook-example.json", "3.1.0", "Webhook Example", .json, 0),
        ("oai-v3.1-non-oauth-scopes.yaml", "3.1.0", "Non-oAuth Scopes example", .yaml, 1),
    ])
    func aPublishedDocumentParses(file: String, specVersion: String, title: String, format: APIDocument.Format, operations: Int) throws {
        let source = try Self.fixture(file)
        let document = try APIDocument(parsing: source)
        #expect(document.specVersion == specVersion)
        #expect(document.title == title)
        #expect(document.format == format)
        #expect(document.operationCount == operations)
        #expect(document.sha256.count == 64)
        #expect(document.source == source)
    }

    static let minimal = """
        openapi: 3.0.3
        info: {title: Orders, version: "1.2"}
        paths:
          /orders/{id}:
            get:
              operationId: getOrder
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses:
                '200': {description: the order}
        """

    @Test func aMinimalDocumentParsesAsYAMLAndAsJSON() throws {
        let yaml = try APIDocument(parsing: Self.minimal)
        #expect(yaml.operationCount == 1)
        #expect(yaml.version == "1.2")
        let json = try APIDocument(
            parsing:
                #"{"openapi":"3.1.0","info":{"title":"Orders","version":"1"},"paths":{"/orders":{"get":{"responses":{"200":{"description":"ok"}}}}}}"#
        )
        #expect(json.format == .json)
        #expect(json.operationCount == 1)
        // Tabs are fine in JSON but not everywhere in YAML: such a document is read as JSON alone.
        let tabbed = try APIDocument(
            parsing: "{\n\t\"openapi\": \"3.1.0\",\n\t\"info\": {\"title\": \"Tabs\", \"version\": \"1\"},\n\t\"paths\": {}\n}")
        #expect(tabbed.title == "Tabs")
    }

    /// One document per class of error, with the field (JSON path) and the words the answer must carry.
    @Test(arguments: [
        ("", "document", "is empty"),
        ("{\"openapi\": \"3.0.0\",", "document", "is not valid JSON"),
        ("openapi: [3.0.0\ninfo: {", "document", "is not valid YAML"),
        ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}", "$.swagger", "Swagger 2.0 is not supported"),
        ("info: {title: x, version: '1'}\npaths: {}", "$.openapi", "is required"),
        ("openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}", "$.openapi", "version 4.0.0 is not supported"),
        ("openapi: 3.0.3\npaths: {}", "$", "info"),
        ("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {}", "$.paths['/a']", "Expected to find `responses` key"),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Missing'}",
            "$.paths['/a'].get.responses.200.content['application/json'].schema", "reference can be found in components/schemas"
        ),
        (
            "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {operationId: same, responses: {'200': {description: ok}}}\n  /b:\n    get: {operationId: same, responses: {'200': {description: ok}}}",
            "$", "All Operation Ids in Document are unique"
        ),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      parameters: [{name: id, in: nowhere}]\n      responses: {'200': {description: ok}}",
            "$.paths['/a']", "nowhere"
        ),
    ])
    func aBrokenDocumentIsRefusedNamingWhere(source: String, field: String, words: String) {
        #expect {
            _ = try APIDocument(parsing: source)
        } throws: { error in
            guard case .invalid(let actualField, let reason) = error as? PorticoError else { return false }
            let matches = actualField.hasPrefix(field) && (words.isEmpty || reason.contains(words) || actualField.contains(words))
            if !matches { Issue.record("field \(actualField), reason \(reason)") }
            return matches
        }
    }

    @Test func anOversizedDocumentIsTooLarge() {
        let huge = "openapi: 3.0.3\n# " + String(repeating: "x", count: APIDocument.maxBytes)
        #expect(throws: PorticoError.tooLarge("the OpenAPI document is larger than 8 MiB")) { try APIDocument(parsing: huge) }
    }

    @Test func theGatewayServerHasThePrefixOnlyWhenTheGatewayStripsIt() {
        #expect(
            APIDocument.gatewayServer(gatewayURL: "https://api.example.com/", pathPrefix: "/orders", stripPrefix: true)?.absoluteString
                == "https://api.example.com/orders")
        #expect(
            APIDocument.gatewayServer(gatewayURL: "https://api.example.com", pathPrefix: "/orders", stripPrefix: false)?.absoluteString
                == "https://api.example.com")
        #expect(
            APIDocument.gatewayServer(gatewayURL: "http://127.0.0.1:8000", pathPrefix: "/", stripPrefix: true)?.absoluteString
                == "http://127.0.0.1:8000")
    }

    @Test(arguments: ["swagger-petstore.yaml", "oai-v3.1-tictactoe.yaml"])
    func thePublishedDocumentNamesOnlyTheGatewayAndKeepsItsVersion(file: String) throws {
        let document = try APIDocument(parsing: try Self.fixture(file))
        let server = try #require(URL(string: "https://gateway.example.com/pets"))
        let published = try document.published(server: server)
        let json = try #require(try JSONSerialization.jsonObject(with: published) as? [String: Any])
        let servers = try #require(json["servers"] as? [[String: Any]])
        #expect(servers.count == 1)
        #expect(servers.first?["url"] as? String == "https://gateway.example.com/pets")
        #expect(json["openapi"] as? String == document.specVersion)
        // It parses again, with the same operations.
        let again = try APIDocument(parsing: String(decoding: published, as: UTF8.self))
        #expect(again.operationCount == document.operationCount)
        #expect(again.title == document.title)
    }
}
