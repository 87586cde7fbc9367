import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import PostgresNIO

/// An identity provider as the admin API shows it: its settings (the client secret only as `"set"`), what
/// discovery found, and when it was made and last changed.
public struct IdentityProviderView: Encodable, Sendable, Equatable {
    public let id: UUID
    public let settings: IdentityProviderSettings
    public let discovered: ProviderMetadata
    public let createdAt: Date
    public let updatedAt: Date

    init(_ provider: IdentityProvider) {
        id = provider.id
        settings = provider.settings.shown
        discovered = provider.metadata
        createdAt = provider.createdAt
        updatedAt = provider.updatedAt
    }

    private enum CodingKeys: String, CodingKey { case id, discovered, createdAt, updatedAt }

    /// The settings' fields at the top level, beside the provider's id, `discovered` and its times.
    public func encode(to encoder: any Encoder) throws {
        try settings.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(discovered, forKey: .discovered)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// Identity providers: checked in full before anything is stored (the settings, then discovery and the key set),
/// a literal client secret sealed, every change audited and announced to the gateways.
public struct IdentityProviderService: Sendable {
    let store: AdminStore
    let sealing: SecretSealing
    let discovery: OIDCDiscovery

    public init(store: AdminStore, secretBox: SecretBox?) {
        self.store = store
        self.sealing = SecretSealing(box: secretBox)
        self.discovery = OIDCDiscovery()
    }

    public func create(_ settings: IdentityProviderSettings, by actor: Actor) async throws -> IdentityProviderView {
        var sealed = settings
        sealed.clientSecret = try sealing.stored(settings.clientSecret, over: nil, field: "clientSecret")
        let metadata = try await discovered(&sealed)
        let created = try await store.write("identity_provider.create", entity: "identity_provider", by: actor) { [sealed] connection in
            let created = try await store.identityProviders.create(sealed, metadata: metadata, on: connection)
            let view = IdentityProviderView(created)
            return (AdminStore.Change<IdentityProviderView, IdentityProviderView>(before: nil, after: view, entityId: view.id.uuidString), view)
        }
        return created
    }

    /// `create`, from the settings' fields as JSON values (the dashboard's form); wrong types are 400s naming the field.
    public func create(fields: [String: JSONValue], by actor: Actor) async throws -> IdentityProviderView {
        try await create(try Self.settings(fields), by: actor)
    }

    public func list() async throws -> [IdentityProviderView] {
        try await store.read { try await store.identityProviders.list(on: $0) }.map(IdentityProviderView.init)
    }

    public func get(_ id: UUID) async throws -> IdentityProviderView {
        IdentityProviderView(try await store.read { try await store.identityProviders.require(id, on: $0) })
    }

    /// Applies `patch` (fields of the settings; `null` removes an optional one, `"clientSecret": "set"` or no
    /// `clientSecret` keeps the stored secret) and discovers the provider again before saving.
    public func update(_ id: UUID, patch: [String: JSONValue], by actor: Actor) async throws -> IdentityProviderView {
        let stored = try await store.read { try await store.identityProviders.require(id, on: $0) }
        guard case .object(var merged) = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(stored.settings)) else {
            throw PorticoError.conflict("the stored identity provider could not be read")
        }
        // A read written back carries the view's own fields; they are not settings and change nothing.
        for (field, value) in patch where !["id", "discovered", "createdAt", "updatedAt"].contains(field) {
            if case .null = value { merged[field] = nil } else { merged[field] = value }
        }
        var settings = try Self.settings(merged)
        let proposedSecret = patch.keys.contains("clientSecret") ? settings.clientSecret : (stored.settings.clientSecret == nil ? nil : "set")
        settings.clientSecret = try sealing.stored(proposedSecret, over: stored.settings.clientSecret, field: "clientSecret")
        let metadata = try await discovered(&settings)
        return try await store.write("identity_provider.update", entity: "identity_provider", by: actor) { [settings] connection in
            let before = try await store.identityProviders.require(id, on: connection)
            if settings.acceptTokens != true { try await ensureTokensNotNeeded(from: before, on: connection) }
            if settings.name != before.settings.name { try await ensureNoAPISignsInThrough(before, on: connection) }
            var changed = before
            changed.settings = settings
            changed.metadata = metadata
            let after = IdentityProviderView(try await store.identityProviders.update(changed, on: connection))
            return (AdminStore.Change(before: IdentityProviderView(before), after: after, entityId: id.uuidString), after)
        }
    }

    public func delete(_ id: UUID, by actor: Actor) async throws {
        try await store.write("identity_provider.delete", entity: "identity_provider", by: actor) { connection in
            let provider = try await store.identityProviders.require(id, on: connection)
            try await ensureTokensNotNeeded(from: provider, on: connection)
            try await ensureNoAPISignsInThrough(provider, on: connection)
            let before = IdentityProviderView(provider)
            try await store.identityProviders.delete(id, on: connection)
            return (AdminStore.Change<IdentityProviderView, IdentityProviderView>(before: before, after: nil, entityId: id.uuidString), ())
        }
    }

    /// A provider whose tokens something relies on cannot stop accepting them or go: an API that accepts only some
    /// providers' tokens, or JWT mode with no key source of its own and no other provider to trust.
    private func ensureTokensNotNeeded(from provider: IdentityProvider, on connection: PostgresConnection) async throws {
        guard provider.settings.acceptTokens == true else { return }
        let name = provider.settings.name
        let narrowed = try await store.apis.namesNarrowedTo(provider: provider.id, on: connection)
        if !narrowed.isEmpty {
            throw PorticoError.conflict(
                "identity provider '\(name)' is in the tokenProviders of API \(narrowed.map { "'\($0)'" }.joined(separator: ", ")); change them first"
            )
        }
        let auth = try await AuthSettingsRepository(logger: store.database.logger).load(on: connection).settings
        let others = try await store.identityProviders.list(on: connection)
            .filter { $0.id != provider.id && $0.settings.acceptTokens == true }
        if auth.trustsOnlyIdentityProviders, others.isEmpty {
            throw PorticoError.conflict(
                "JWT mode has no key source of its own and trusts only identity provider '\(name)'; give it a key source or trust another provider first"
            )
        }
    }

    /// An OIDC-protected API names its provider: the provider can be neither renamed nor deleted under it.
    private func ensureNoAPISignsInThrough(_ provider: IdentityProvider, on connection: PostgresConnection) async throws {
        let apis = try await store.apis.namesSignedInThrough(provider: provider.settings.name, on: connection)
        guard apis.isEmpty else {
            throw PorticoError.conflict(
                "identity provider '\(provider.settings.name)' signs in to API \(apis.map { "'\($0)'" }.joined(separator: ", ")); change the API first"
            )
        }
    }

    /// The settings these fields make, checked as a request body is: unknown fields and wrong types name the field.
    private static func settings(_ fields: [String: JSONValue]) throws -> IdentityProviderSettings {
        do {
            return try JSONDecoder().decode(IdentityProviderSettings.self, from: try JSONEncoder().encode(JSONValue.object(fields)))
        } catch let error as DecodingError {
            throw JSONCoding.translate(error)
        }
    }

    /// The settings checked without I/O, then the provider discovered and its keys fetched.
    /// The name and issuer are stored as checked (trimmed), so `corp ` cannot stand beside `corp`.
    private func discovered(_ settings: inout IdentityProviderSettings) async throws -> ProviderMetadata {
        let config = try settings.compiled()
        settings.name = config.name
        settings.issuer = config.issuer
        return try await discovery.discover(config)
    }
}
