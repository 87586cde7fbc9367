import Foundation
import PorticoCatalog
import PorticoCore
import PorticoStore

/// A document fetched from an API's `openapiUrl`, checked, with where it came from.
struct FetchedDocument: Sendable {
    let document: APIDocument
    let url: String?

    func stored(for api: UUID) -> StoredAPIDocument {
        StoredAPIDocument(
            apiId: api, format: document.format.rawValue, openapiVersion: document.specVersion, title: document.title,
            documentVersion: document.version, operationCount: document.operationCount, sha256: document.sha256, fetchedFrom: url,
            updatedAt: Date(), source: document.source, operations: document.operations)
    }
}

/// APIs' OpenAPI documents: uploaded or fetched again from `openapiUrl`, checked in full before anything is stored
/// (an unusable document is a 422 naming the JSON path of the problem), audited, and read back parsed for the portal.
public struct APIDocumentService: Sendable {
    let store: AdminStore
    let fetcher: APIDocumentFetcher
    /// Parsed documents by their SHA-256, so that a page view does not parse a large document again.
    let parsed: RecentValues<APIDocument>

    public init(store: AdminStore, fetcher: APIDocumentFetcher = .init(), parsed: RecentValues<APIDocument> = .init()) {
        self.store = store
        self.fetcher = fetcher
        self.parsed = parsed
    }

    /// Stores `text` as the API's document, replacing the one before.
    public func upload(_ text: String, to api: UUID, by actor: Actor) async throws -> StoredAPIDocument {
        try await save(FetchedDocument(document: try APIDocument(parsing: text), url: nil), to: api, by: actor)
    }

    /// Fetches the API's document from its `openapiUrl` again and stores it.
    public func refresh(_ api: UUID, by actor: Actor) async throws -> StoredAPIDocument {
        let definition = try await store.read { try await store.apis.require(api, on: $0) }
        guard let document = try await fetcher.document(of: definition) else {
            throw PorticoError.invalid(field: "openapiUrl", reason: "API \(definition.name) has no openapiUrl to fetch its document from")
        }
        return try await save(document, to: api, by: actor)
    }

    private func save(_ document: FetchedDocument, to api: UUID, by actor: Actor) async throws -> StoredAPIDocument {
        let saved = try await store.write("api.openapi.save", entity: "api", by: actor) { connection in
            _ = try await store.apis.require(api, on: connection)
            let before = try await store.documents.find(api: api, on: connection)
            let saved = try await store.documents.save(document.stored(for: api), on: connection)
            return (AdminStore.Change(before: before, after: saved, entityId: api.uuidString), saved)
        }
        // Parsed already: the portal's first view of it in this process need not parse it again.
        parsed.remember(document.document, for: document.document.sha256)
        return saved
    }

    /// The API's stored document (its facts and source); a 404 when it has none.
    public func stored(of api: UUID) async throws -> StoredAPIDocument {
        guard let document = try await store.read({ try await store.documents.find(api: api, on: $0) }) else {
            throw PorticoError.notFound("the OpenAPI document of API \(api)")
        }
        return document
    }

    /// Which version of the API's document is stored (its SHA-256), read without the document; a 404 when none is.
    public func version(of api: UUID) async throws -> String {
        guard let sha256 = try await store.read({ try await store.documents.sha256(api: api, on: $0) }) else {
            throw PorticoError.notFound("the OpenAPI document of API \(api)")
        }
        return sha256
    }

    /// The API's document, parsed (once per version of it).
    public func document(of api: UUID) async throws -> APIDocument {
        let stored = try await stored(of: api)
        if let kept = parsed.value(for: stored.sha256) { return kept }
        // Stored documents were validated when they were saved.
        let document = try APIDocument(parsing: stored.source, validating: false)
        parsed.remember(document, for: stored.sha256)
        return document
    }

    public func delete(of api: UUID, by actor: Actor) async throws {
        try await store.write("api.openapi.delete", entity: "api", by: actor) { connection in
            guard let before = try await store.documents.find(api: api, on: connection) else {
                throw PorticoError.notFound("the OpenAPI document of API \(api)")
            }
            try await store.documents.delete(api: api, on: connection)
            return (AdminStore.Change<StoredAPIDocument, StoredAPIDocument>(before: before, after: nil, entityId: api.uuidString), ())
        }
    }
}
