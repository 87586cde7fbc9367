import Foundation
import Testing

@testable import PorticoCatalog

/// What the portal renders of a document: the Swagger Petstore (not written by Portico) and small documents made
/// to hit one rule each.
@Suite struct DocumentViewTests {
    static let gateway = "https://gw.example.com"
    static let key = DocumentView.Credential.header(name: "Authorization", value: "Bearer $PORTICO_KEY")

    static func petstore(prefix: String = "/pets") throws -> DocumentView {
        DocumentView(
            try APIDocument(parsing: try APIDocumentTests.fixture("swagger-petstore.yaml")), gatewayURL: gateway, exposedPrefix: prefix,
            credential: key)
    }

    @Test func operationsAreGroupedByTagInTheDocumentsOrder() throws {
        let view = try Self.petstore()
        #expect(view.groups.map(\.name) == ["pet", "store", "user"])
        #expect(view.operationCount == 19)
        #expect(view.groups[0].descriptionHTML.contains("Everything about your Pets"))
        let paths = view.groups[0].operations.map { "\($0.method) \($0.path)" }
        #expect(paths.contains("PUT /pets/pet"))
        #expect(paths.contains("GET /pets/pet/{petId}"))
    }

    @Test func parametersRequestBodiesAndResponsesAreReadable() throws {
        let view = try Self.petstore()
        let operations = view.groups.flatMap(\.operations)
        let get = try #require(operations.first { $0.operationId == "getPetById" })
        #expect(get.summary == "Find pet by ID.")
        let petId = try #require(get.parameters.first)
        #expect(petId.name == "petId" && petId.location == "path" && petId.required && petId.type == "integer (int64)")
        #expect(get.responses.map(\.status).starts(with: ["200", "400", "404"]))
        let ok = try #require(get.responses.first?.content.first { $0.mediaType == "application/json" })
        let rows = ok.schema.map { "\(String(repeating: ".", count: $0.depth))\($0.name): \($0.type)\($0.required ? " *" : "")" }
        #expect(
            rows == [
                "id: integer (int64)", "name: string *", "category: Category", "photoUrls: array of string *", "tags: array of Tag",
                "status: string: available, pending, sold",
            ], "\(rows)")
        // A component inside a table is a link to its own table, written once for the page.
        #expect(ok.schema.first { $0.name == "category" }?.typeAnchor == "schema-Category")
        #expect(ok.schema.first { $0.name == "tags" }?.typeAnchor == "schema-Tag")
        let schemas = try Self.petstore().schemas
        #expect(Set(schemas.map(\.name)).isSuperset(of: ["Pet", "Category", "Tag", "Order", "User", "ApiResponse"]))
        #expect(schemas.map(\.name).count == Set(schemas.map(\.name)).count, "each once")
        let category = try #require(schemas.first { $0.name == "Category" })
        #expect(category.anchor == "schema-Category")
        #expect(category.rows.map { "\($0.name): \($0.type)" } == ["id: integer (int64)", "name: string"])

        let add = try #require(operations.first { $0.operationId == "addPet" })
        #expect(add.requestBodyRequired)
        #expect(add.requestBody.map(\.mediaType) == ["application/json", "application/xml", "application/x-www-form-urlencoded"])
    }

    @Test func curlLinesCarryTheCredentialAsAShellVariable() throws {
        let operations = try Self.petstore().groups.flatMap(\.operations)
        let get = try #require(operations.first { $0.operationId == "getPetById" })
        #expect(get.curl == #"curl -H 'Authorization: Bearer '"$PORTICO_KEY" 'https://gw.example.com/pets/pet/{petId}'"#)
        let find = try #require(operations.first { $0.operationId == "findPetsByStatus" })
        #expect(find.curl.hasPrefix("curl -H "), "\(find.curl)")
        let add = try #require(operations.first { $0.operationId == "addPet" })
        #expect(add.curl.hasPrefix(#"curl -X POST -H 'Authorization: Bearer '"$PORTICO_KEY" -H 'Content-Type: application/json' --data "#))

        let query = DocumentView(
            try APIDocument(parsing: try APIDocumentTests.fixture("swagger-petstore.yaml")), gatewayURL: Self.gateway, exposedPrefix: "/",
            credential: .query(name: "access_token", value: "$JWT"))
        let viaQuery = try #require(query.groups.flatMap(\.operations).first { $0.operationId == "getPetById" })
        #expect(viaQuery.curl == #"curl 'https://gw.example.com/pet/{petId}?access_token='"$JWT""#)
    }

    /// The lines, run by a real shell, give curl exactly the intended arguments.
    @Test func theShellReadsTheQuotingBack() throws {
        let line = CurlLine.quoted(#"it's "quoted" $PORTICO_KEY and $not and \ backslash"#)
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "printf '%s' \(line)"]
        shell.environment = ["PORTICO_KEY": "pk_secret"]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        shell.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed == #"it's "quoted" pk_secret and $not and \ backslash"#)
    }

    @Test func aRecursiveSchemaIsALinkToItsOwnTable() throws {
        let document = try APIDocument(
            parsing: """
                openapi: 3.1.0
                info: {title: Trees, version: '1'}
                paths:
                  /trees:
                    get:
                      responses:
                        '200':
                          description: "a <b>tree</b>"
                          content:
                            application/json:
                              schema: {$ref: '#/components/schemas/Node'}
                components:
                  schemas:
                    Node:
                      type: object
                      required: [label]
                      properties:
                        label: {type: string, description: "**bold** <script>x()</script>"}
                        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
                """)
        let view = DocumentView(document, gatewayURL: Self.gateway, exposedPrefix: "/t", credential: Self.key)
        let response = try #require(view.groups.first?.operations.first?.responses.first)
        #expect(!response.descriptionHTML.contains("<b>"))
        let rows = try #require(response.content.first).schema
        #expect(rows.map(\.name) == ["label", "children"])
        #expect(rows.last?.type == "array of Node")
        #expect(rows.last?.typeAnchor == "schema-Node", "the recursion is a link, not another level")
        #expect(view.schemas.map(\.name) == ["Node"])
        #expect(view.schemas.first?.rows.map(\.name) == ["label", "children"])
        #expect(rows.first?.descriptionHTML.contains("<strong>bold</strong>") == true)
        #expect(rows.first?.descriptionHTML.contains("<script") == false)
        #expect(view.groups.first?.name == "Other")
    }

    /// A JSON document keeps the order it was written in (paths, operations, properties), as a YAML one does.
    @Test func aJSONDocumentKeepsItsOrder() throws {
        let document = try APIDocument(parsing: try APIDocumentTests.fixture("oai-v3.0-petstore-expanded.json"))
        #expect(document.format == .json)
        let view = DocumentView(document, gatewayURL: Self.gateway, exposedPrefix: "/", credential: Self.key)
        #expect(
            view.groups.flatMap(\.operations).map { "\($0.method) \($0.path)" } == ["GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}"])
        let create = try #require(view.groups.flatMap(\.operations).first { $0.method == "POST" })
        #expect(create.requestBody.first?.schema.map(\.name) == ["name", "tag"])
    }
}
