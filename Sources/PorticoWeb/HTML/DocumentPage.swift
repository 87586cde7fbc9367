import Foundation
import PorticoCatalog

/// A `DocumentView` as the values of the `portal-api-document` template. Each level names its description apart
/// (`operationDescriptionHTML`, …): a value left out (empty text is) is looked up in the enclosing levels, so a
/// shared name would show a group's description under an operation that has none.
enum DocumentPage {
    /// `tryIt`: each operation links to the portal's try-it console.
    static func values(_ view: DocumentView, apiId: UUID, apiName: String, tryIt: Bool) -> [String: Any] {
        [
            "apiId": apiId.uuidString, "apiName": apiName, "tryIt": tryIt, "title": view.title, "version": view.version,
            "documentDescriptionHTML": view.descriptionHTML,
            "groups": view.groups.map { group in
                ["name": group.name, "groupDescriptionHTML": group.descriptionHTML, "operations": group.operations.map(operation)] as [String: Any]
            },
            "hasSchemas": !view.schemas.isEmpty,
            "schemas": view.schemas.map { schema in
                [
                    "name": schema.name, "anchor": schema.anchor, "schemaDescriptionHTML": schema.descriptionHTML, "hasSchema": !schema.rows.isEmpty,
                    "schema": schema.rows.map(row),
                ] as [String: Any]
            },
        ]
    }

    private static func operation(_ operation: DocumentView.Operation) -> [String: Any] {
        [
            "method": operation.method, "path": operation.path, "summary": operation.summary, "anchor": operation.anchor,
            "operationDescriptionHTML": operation.descriptionHTML, "deprecated": operation.deprecated, "curl": operation.curl,
            "hasParameters": !operation.parameters.isEmpty,
            "parameters": operation.parameters.map { parameter in
                [
                    "name": parameter.name, "location": parameter.location, "required": parameter.required, "type": parameter.type,
                    "typeAnchor": parameter.typeAnchor ?? "",
                    "parameterDescriptionHTML": parameter.descriptionHTML, "example": parameter.example ?? "",
                ] as [String: Any]
            },
            "hasRequestBody": !operation.requestBody.isEmpty, "requestBodyRequired": operation.requestBodyRequired,
            "requestBody": operation.requestBody.map(content),
            "responses": operation.responses.enumerated().map { index, response in
                [
                    "status": response.status, "responseDescriptionHTML": response.descriptionHTML, "content": response.content.map(content),
                    // The first success is open; the others are a click away.
                    "open": index == 0 || response.status.hasPrefix("2") && !operation.responses.prefix(index).contains { $0.status.hasPrefix("2") },
                ] as [String: Any]
            },
        ]
    }

    private static func content(_ content: DocumentView.Content) -> [String: Any] {
        [
            "mediaType": content.mediaType, "hasSchema": !content.schema.isEmpty, "example": content.example ?? "",
            "schema": content.schema.map(row),
        ]
    }

    private static func row(_ row: DocumentView.SchemaRow) -> [String: Any] {
        [
            "depth": row.depth, "name": row.name, "type": row.type, "typeAnchor": row.typeAnchor ?? "", "required": row.required,
            "fieldDescriptionHTML": row.descriptionHTML,
        ]
    }
}
