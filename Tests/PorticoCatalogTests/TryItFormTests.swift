import Foundation
import PorticoCore
import Testing

@testable import PorticoCatalog

/// The try-it form of the Swagger Petstore's operations, and the calls it makes of what a consumer types.
@Suite struct TryItFormTests {
    static func operation(_ anchor: String, prefix: String = "/pets") throws -> TryableOperation {
        let document = try APIDocument(parsing: try APIDocumentTests.fixture("swagger-petstore.yaml"))
        return try #require(TryableOperation(document, exposedPrefix: prefix, anchor: anchor))
    }

    @Test func anOperationIsFoundByItsPageAnchorWithItsParametersAndJSONBody() throws {
        let update = try Self.operation("op-updatePetWithForm")
        #expect(update.method == "POST")
        #expect(update.path == "/pets/pet/{petId}")
        #expect(update.fields.map { "\($0.location.rawValue) \($0.name)" } == ["path petId", "query name", "query status"])
        let add = try Self.operation("op-addPet")
        #expect(add.bodyMediaType == "application/json", "JSON first among the body's media types")
        #expect(add.bodyRequired)
        #expect(try Self.operation("op-deletePet").fields.first?.name == "api_key")
        let document = try APIDocument(parsing: try APIDocumentTests.fixture("swagger-petstore.yaml"))
        #expect(TryableOperation(document, exposedPrefix: "/pets", anchor: "op-nothing") == nil)
    }

    @Test func valuesArePercentEncodedIntoOnePathSegmentAndOneQueryValue() throws {
        let call = try TryItCall(try Self.operation("op-updatePetWithForm"), values: ["p0": "7/../admin", "p1": "a&b=c", "p2": ""], body: nil)
        #expect(call.target == "/pets/pet/7%2F..%2Fadmin?name=a%26b%3Dc")
        #expect(call.body == nil)
        #expect(call.headers.isEmpty)
    }

    @Test func aRequiredValueLeftOutIsRefusedOnItsField() throws {
        #expect(throws: PorticoError.invalid(field: "p0", reason: "the path parameter 'petId' is required")) {
            try TryItCall(try Self.operation("op-updatePetWithForm"), values: [:], body: nil)
        }
        #expect(throws: PorticoError.invalid(field: "body", reason: "this operation requires a request body")) {
            try TryItCall(try Self.operation("op-addPet"), values: [:], body: "")
        }
    }

    @Test func headersAreSentTrimmedWithoutLineBreaksAndTheBodyWithItsMediaType() throws {
        let delete = try TryItCall(try Self.operation("op-deletePet"), values: ["p0": " secret ", "p1": "9"], body: "ignored")
        #expect(delete.headers == [.init(name: "api_key", value: "secret")])
        #expect(delete.body == nil, "an operation without a body sends none")
        #expect(throws: PorticoError.self) {
            try TryItCall(try Self.operation("op-deletePet"), values: ["p0": "a\nb", "p1": "9"], body: nil)
        }
        let add = try TryItCall(try Self.operation("op-addPet"), values: [:], body: #"{"name":"rex"}"#)
        #expect(add.headers == [.init(name: "Content-Type", value: "application/json")])
        #expect(add.body == #"{"name":"rex"}"#)
    }

    @Test func headersOfTheConnectionTheGatewayOrTheCredentialAreReserved() {
        for name in ["Authorization", "cookie", "Host", "X-Portico-User", "X-Forwarded-For", "Transfer-Encoding"] {
            #expect(TryItCall.isReserved(header: name), "\(name)")
        }
        #expect(!TryItCall.isReserved(header: "X-Request-Id"))
    }
}
