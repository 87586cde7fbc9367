import Foundation
import PorticoCore
import PorticoStore
import PostgresNIO

/// A new API, as the admin API and the dashboard take it; checked by `APIService`.
public struct APIInput: Sendable {
    public var name: String
    public var pathPrefix: String
    public var upstream: String
    public var stripPrefix: Bool?
    public var host: String?
    public var status: APIStatus?
    public var forwardCredential: Bool?
    public var maxBodyBytes: Int?
    /// Where the OpenAPI document is fetched from when the API is saved (absolute, or a path on the upstream).
    public var openapiUrl: String?

    public init(
        name: String, pathPrefix: String, upstream: String, stripPrefix: Bool? = nil, host: String? = nil, status: APIStatus? = nil,
        forwardCredential: Bool? = nil, maxBodyBytes: Int? = nil, openapiUrl: String? = nil
    ) {
        self.openapiUrl = openapiUrl
        self.forwardCredential = forwardCredential
        self.maxBodyBytes = maxBodyBytes
        self.name = name
        self.pathPrefix = pathPrefix
        self.upstream = upstream
        self.stripPrefix = stripPrefix
        self.host = host
        self.status = status
    }
}

/// Changes to an API; nil leaves a field as it is.
public struct APIPatch: Sendable {
    public var name: String?
    public var pathPrefix: String?
    public var upstream: String?
    public var stripPrefix: Bool?
    /// `.some(nil)` clears the host.
    public var host: String??
    public var status: APIStatus?
    /// The trusted identity providers whose tokens the API accepts in JWT mode; `.some(nil)` accepts all again.
    public var tokenProviders: [String]??
    public var auth: APIAuth?
    /// `.some(nil)` removes the OIDC settings (with `auth: "default"`).
    public var oidc: APIOIDCSettings??
    public var forwardCredential: Bool?
    /// `.some(nil)` lifts the limit.
    public var maxBodyBytes: Int??
    /// `.some(nil)` stops fetching the document (the one stored stays until it is deleted or replaced).
    public var openapiUrl: String??

    public init(
        name: String? = nil, pathPrefix: String? = nil, upstream: String? = nil, stripPrefix: Bool? = nil, host: String?? = nil,
        status: APIStatus? = nil, tokenProviders: [String]?? = nil, auth: APIAuth? = nil, oidc: APIOIDCSettings?? = nil,
        forwardCredential: Bool? = nil, maxBodyBytes: Int?? = nil, openapiUrl: String?? = nil
    ) {
        self.openapiUrl = openapiUrl
        self.forwardCredential = forwardCredential
        self.maxBodyBytes = maxBodyBytes
        self.auth = auth
        self.oidc = oidc
        self.name = name
        self.pathPrefix = pathPrefix
        self.upstream = upstream
        self.stripPrefix = stripPrefix
        self.host = host
        self.status = status
        self.tokenProviders = tokenProviders
    }
}

/// APIs: validated, created, listed, changed, deleted; every change audited and announced to the gateways. An API
/// with an `openapiUrl` has its OpenAPI document fetched and checked when it is saved: a document that cannot be
/// fetched or used refuses the whole save.
public struct APIService: Sendable {
    let store: AdminStore
    let fetcher: APIDocumentFetcher

    public init(store: AdminStore, fetcher: APIDocumentFetcher = .init()) {
        self.store = store
        self.fetcher = fetcher
    }

    public func create(_ input: APIInput, by actor: Actor) async throws -> APIDefinition {
        let now = Date()
        let api = APIDefinition(
            id: UUID(), name: try Validation.identifier(input.name), pathPrefix: try Validation.pathPrefix(input.pathPrefix),
            host: try input.host.flatMap { $0.isEmpty ? nil : try Validation.host($0) }, upstream: try Validation.upstream(input.upstream),
            stripPrefix: input.stripPrefix ?? false, status: input.status ?? .published, forwardCredential: input.forwardCredential ?? false,
            maxBodyBytes: try input.maxBodyBytes.map(Self.bodyLimit),
            openapiUrl: try input.openapiUrl.flatMap { $0.isEmpty ? nil : try Validation.documentURL($0) }, createdAt: now, updatedAt: now)
        let document = try await fetcher.document(of: api)
        return try await store.write("api.create", entity: "api", by: actor) { connection in
            let created = try await store.apis.create(api, on: connection)
            if let document { _ = try await store.documents.save(document.stored(for: created.id), on: connection) }
            return (AdminStore.Change<APIDefinition, APIDefinition>(before: nil, after: created, entityId: created.id.uuidString), created)
        }
    }

    public func list() async throws -> [APIDefinition] {
        try await store.read { try await store.apis.list(on: $0) }
    }

    public func id(named name: String) async throws -> UUID {
        try await store.read { try await store.apis.ids(named: [name], field: "api", on: $0)[0] }
    }

    public func get(_ id: UUID) async throws -> APIDefinition {
        try await store.read { try await store.apis.require(id, on: $0) }
    }

    public func update(_ id: UUID, _ patch: APIPatch, by actor: Actor) async throws -> APIDefinition {
        let name = try patch.name.map { try Validation.identifier($0) }
        let prefix = try patch.pathPrefix.map { try Validation.pathPrefix($0) }
        let upstream = try patch.upstream.map { try Validation.upstream($0) }
        let host: String?? = try patch.host.map { value in try value.flatMap { $0.isEmpty ? nil : try Validation.host($0) } }
        let maxBodyBytes: Int?? = try patch.maxBodyBytes.map { try $0.map(Self.bodyLimit) }
        let openapiUrl: String?? = try patch.openapiUrl.map { value in try value.flatMap { $0.isEmpty ? nil : try Validation.documentURL($0) } }
        // A new `openapiUrl` is fetched before the transaction, so that no row is held while a slow server answers;
        // the refresh button fetches an unchanged one again.
        var document: FetchedDocument?
        if case .some(.some(let url)) = openapiUrl {
            var planned = try await get(id)
            if planned.openapiUrl != url {
                planned.openapiUrl = url
                if let upstream { planned.upstream = upstream }
                document = try await fetcher.document(of: planned)
            }
        }
        return try await store.write("api.update", entity: "api", by: actor) { [document] connection in
            let before = try await store.apis.require(id, on: connection)
            var after = before
            if let name { after.name = name }
            if let prefix { after.pathPrefix = prefix }
            if let upstream { after.upstream = upstream }
            if let strip = patch.stripPrefix { after.stripPrefix = strip }
            if let host { after.host = host }
            if let status = patch.status { after.status = status }
            if let auth = patch.auth { after.auth = auth }
            if let oidc = patch.oidc { after.oidc = oidc }
            if let forward = patch.forwardCredential { after.forwardCredential = forward }
            if let maxBodyBytes { after.maxBodyBytes = maxBodyBytes }
            if let openapiUrl { after.openapiUrl = openapiUrl }
            try await checkOIDC(of: after, on: connection)
            if let document { _ = try await store.documents.save(document.stored(for: id), on: connection) }
            if let names = patch.tokenProviders {
                try await store.apis.setTokenProviders(try await tokenProviderIds(names, on: connection), of: id, on: connection)
            }
            let updated = try await store.apis.update(after, on: connection)
            return (AdminStore.Change(before: before, after: updated, entityId: id.uuidString), updated)
        }
    }

    /// A request body limit: at least one byte, at most 1 TiB.
    static func bodyLimit(_ bytes: Int) throws(PorticoError) -> Int {
        guard (1...(1 << 40)).contains(bytes) else {
            throw PorticoError.invalid(field: "maxBodyBytes", reason: "must be a number of bytes from 1 to 1099511627776, or null for no limit")
        }
        return bytes
    }

    /// An API with `auth: "oidc"` needs OIDC settings whose provider exists and has a client id.
    private func checkOIDC(of api: APIDefinition, on connection: PostgresConnection) async throws {
        guard api.auth == .oidc else { return }
        guard let settings = api.oidc else {
            throw PorticoError.invalid(field: "oidc", reason: "auth \"oidc\" needs oidc settings: {provider, redirectPath, …}")
        }
        let config = try settings.compiled(pathPrefix: api.pathPrefix)
        let providers = try await store.identityProviders.list(on: connection)
        guard let provider = providers.first(where: { $0.settings.name == config.providerName }) else {
            throw PorticoError.invalid(field: "oidc.provider", reason: "no identity provider named '\(config.providerName)'")
        }
        guard let clientId = provider.settings.clientId, !clientId.isEmpty else {
            throw PorticoError.invalid(field: "oidc.provider", reason: "identity provider '\(config.providerName)' has no client id")
        }
    }

    /// The ids of the named providers, each one that accepts tokens; nil (all providers) stays nil.
    private func tokenProviderIds(_ names: [String]?, on connection: PostgresConnection) async throws -> [UUID]? {
        guard let names else { return nil }
        guard !names.isEmpty else {
            throw PorticoError.invalid(field: "tokenProviders", reason: "must name at least one identity provider; null accepts all of them")
        }
        let providers = try await store.identityProviders.list(on: connection)
        return try names.map { name in
            guard let provider = providers.first(where: { $0.settings.name == name }) else {
                throw PorticoError.invalid(field: "tokenProviders", reason: "no identity provider named '\(name)'")
            }
            guard provider.settings.acceptTokens == true else {
                throw PorticoError.invalid(field: "tokenProviders", reason: "identity provider '\(name)' does not accept tokens (acceptTokens)")
            }
            return provider.id
        }
    }

    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("api.delete", entity: "api", by: actor) { connection in
            let before = try await store.apis.require(id, on: connection)
            try await store.apis.delete(id, on: connection)
            return (AdminStore.Change<APIDefinition, APIDefinition>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }
}
