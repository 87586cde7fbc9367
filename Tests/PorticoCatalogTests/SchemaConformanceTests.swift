import Foundation
import OpenAPIKit
import PorticoCore
import Testing

@testable import PorticoCatalog

/// The JSON Schema checks the admin API's contract tests rest on, one rule each.
@Suite struct SchemaConformanceTests {
    static let document = """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths: {}
        components:
          schemas:
            Pet:
              type: object
              additionalProperties: false
              required: [name, kind]
              properties:
                name: {type: string}
                kind: {type: string, enum: [cat, dog]}
                age: {type: [integer, "null"]}
                tags: {type: array, items: {type: string}}
                owner: {oneOf: [{$ref: '#/components/schemas/Owner'}, {type: 'null'}]}
            Owner: {type: object, required: [email], properties: {email: {type: string}}}
        """

    func problems(_ json: String) throws -> [String] {
        let document = try APIDocument(parsing: Self.document).document
        let pet = try #require(document.components.schemas["Pet"])
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        return SchemaConformance(components: document.components).problems(of: value, against: pet)
    }

    @Test func aValueThatFitsHasNoProblems() throws {
        #expect(try problems(#"{"name":"Rex","kind":"dog","age":3,"tags":["a"],"owner":{"email":"o@example.com"}}"#) == [])
        #expect(try problems(#"{"name":"Rex","kind":"dog","age":null,"owner":null}"#) == [])
    }

    @Test func eachMisfitIsNamedWithItsPath() throws {
        #expect(try problems(#"{"name":"Rex"}"#) == ["$: the required property 'kind' is missing"])
        #expect(try problems(#"{"name":"Rex","kind":"cow"}"#) == ["$.kind: 'cow' is not one of cat, dog"])
        #expect(try problems(#"{"name":1,"kind":"cat"}"#) == ["$.name: expected a string, found 1.0"])
        #expect(try problems(#"{"name":"Rex","kind":"cat","age":1.5}"#) == ["$.age: expected an integer, found 1.5"])
        #expect(try problems(#"{"name":"Rex","kind":"cat","tags":[1]}"#) == ["$.tags[0]: expected a string, found 1.0"])
        #expect(try problems(#"{"name":"Rex","kind":"cat","color":"red"}"#) == ["$: the property 'color' is not in the schema"])
        let owner = try problems(#"{"name":"Rex","kind":"cat","owner":{}}"#)
        #expect(owner.count == 1 && owner[0].hasPrefix("$.owner: fits none of its 2 alternatives"))
    }
}
