import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// An API's stored OpenAPI document: its source as given and the facts read out of it when it was saved.
public struct StoredAPIDocument: Encodable, Sendable, Equatable {
    public var apiId: UUID
    public var format: String
    public var openapiVersion: String
    public var title: String
    public var documentVersion: String
    public var operationCount: Int
    public var sha256: String
    /// The URL it was fetched from; nil when it was uploaded.
    public var fetchedFrom: String?
    public var updatedAt: Date
    /// Left out of JSON answers and audit rows: the document itself is served on its own route.
    public var source: String
    /// What operation filters match against; written when the document is saved, not read back with it.
    public var operations: [DocumentOperation]?

    public init(
        apiId: UUID, format: String, openapiVersion: String, title: String, documentVersion: String, operationCount: Int, sha256: String,
        fetchedFrom: String?, updatedAt: Date, source: String, operations: [DocumentOperation]? = nil
    ) {
        self.operations = operations
        self.apiId = apiId
        self.format = format
        self.openapiVersion = openapiVersion
        self.title = title
        self.documentVersion = documentVersion
        self.operationCount = operationCount
        self.sha256 = sha256
        self.fetchedFrom = fetchedFrom
        self.updatedAt = updatedAt
        self.source = source
    }

    private enum CodingKeys: String, CodingKey {
        case apiId, format, openapiVersion, title, documentVersion, operationCount, sha256, fetchedFrom, updatedAt
    }
}

/// The `api_documents` table.
public struct APIDocumentRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let columns = """
        api_id, format, openapi_version, title, document_version, operation_count, sha256, fetched_from, updated_at, source
        """

    /// Stores `document` as the API's, replacing the one before.
    public func save(_ document: StoredAPIDocument, on connection: PostgresConnection) async throws -> StoredAPIDocument {
        let rows = try await connection.query(
            """
            INSERT INTO api_documents (api_id, format, source, openapi_version, title, document_version, operation_count, sha256, fetched_from,
                                       operations)
            VALUES (\(document.apiId), \(document.format), \(document.source), \(document.openapiVersion), \(document.title),
                    \(document.documentVersion), \(document.operationCount), \(document.sha256), \(document.fetchedFrom),
                    \(try Self.json(document.operations))::jsonb)
            ON CONFLICT (api_id) DO UPDATE SET format = EXCLUDED.format, source = EXCLUDED.source,
                openapi_version = EXCLUDED.openapi_version, title = EXCLUDED.title, document_version = EXCLUDED.document_version,
                operation_count = EXCLUDED.operation_count, sha256 = EXCLUDED.sha256, fetched_from = EXCLUDED.fetched_from,
                operations = EXCLUDED.operations, updated_at = now()
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let saved = try await decode(rows).first else { throw PorticoError.conflict("the OpenAPI document was not saved") }
        return saved
    }

    public func find(api: UUID, on connection: PostgresConnection) async throws -> StoredAPIDocument? {
        try await decode(connection.query("SELECT \(unescaped: Self.columns) FROM api_documents WHERE api_id = \(api)", logger: logger)).first
    }

    /// The SHA-256 of the API's document, without reading the document; nil when it has none.
    public func sha256(api: UUID, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query("SELECT sha256 FROM api_documents WHERE api_id = \(api)", logger: logger)
        for try await sha256 in rows.decode(String.self) { return sha256 }
        return nil
    }

    /// The operations of the APIs' documents that have them read out, by API.
    public func operations(on connection: PostgresConnection) async throws -> [UUID: [DocumentOperation]] {
        let rows = try await connection.query(
            "SELECT api_id, operations::text FROM api_documents WHERE operations IS NOT NULL ORDER BY api_id", logger: logger)
        var operations: [UUID: [DocumentOperation]] = [:]
        for try await (api, json) in rows.decode((UUID, String).self) {
            operations[api] = try JSONDecoder().decode([DocumentOperation].self, from: Data(json.utf8))
        }
        return operations
    }

    /// Fills in the operations of a document saved before they were read out.
    public func setOperations(_ operations: [DocumentOperation], api: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE api_documents SET operations = \(try Self.json(operations))::jsonb WHERE api_id = \(api) AND operations IS NULL",
            logger: logger)
    }

    private static func json(_ operations: [DocumentOperation]?) throws -> String? {
        guard let operations else { return nil }
        return String(decoding: try JSONEncoder().encode(operations), as: UTF8.self)
    }

    /// Removes the API's document; says whether there was one.
    @discardableResult
    public func delete(api: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("DELETE FROM api_documents WHERE api_id = \(api) RETURNING api_id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [StoredAPIDocument] {
        var documents: [StoredAPIDocument] = []
        for try await (api, format, openapiVersion, title, documentVersion, operations, sha256, fetchedFrom, updatedAt, source)
            in rows.decode((UUID, String, String, String, String, Int32, String, String?, Date, String).self)
        {
            documents.append(
                StoredAPIDocument(
                    apiId: api, format: format, openapiVersion: openapiVersion, title: title, documentVersion: documentVersion,
                    operationCount: Int(operations), sha256: sha256, fetchedFrom: fetchedFrom, updatedAt: updatedAt, source: source))
        }
        return documents
    }
}
