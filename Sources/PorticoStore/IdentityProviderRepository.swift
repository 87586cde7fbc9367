import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The `identity_providers` table: settings and discovered metadata as JSON, the name unique.
public struct IdentityProviderRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let columns = "id, settings::text, metadata::text, created_at, updated_at"

    public func create(
        _ settings: IdentityProviderSettings, metadata: ProviderMetadata, on connection: PostgresConnection
    ) async throws -> IdentityProvider {
        let rows = try await connection.query(
            """
            INSERT INTO identity_providers (name, issuer, settings, metadata)
            VALUES (\(settings.name), \(settings.issuer), \(try Self.json(settings))::jsonb, \(try Self.json(metadata))::jsonb)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await decode(rows).first else { throw PorticoError.conflict("the identity provider was not created") }
        return created
    }

    public func list(on connection: PostgresConnection) async throws -> [IdentityProvider] {
        try await decode(connection.query("SELECT \(unescaped: Self.columns) FROM identity_providers ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> IdentityProvider? {
        try await decode(connection.query("SELECT \(unescaped: Self.columns) FROM identity_providers WHERE id = \(id)", logger: logger))
            .first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> IdentityProvider {
        guard let provider = try await find(id, on: connection) else { throw PorticoError.notFound("identity provider \(id)") }
        return provider
    }

    /// Replaces the provider's settings and metadata with the ones given.
    public func update(_ provider: IdentityProvider, on connection: PostgresConnection) async throws -> IdentityProvider {
        let rows = try await connection.query(
            """
            UPDATE identity_providers SET name = \(provider.settings.name), issuer = \(provider.settings.issuer),
                   settings = \(try Self.json(provider.settings))::jsonb, metadata = \(try Self.json(provider.metadata))::jsonb,
                   updated_at = now()
            WHERE id = \(provider.id)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let updated = try await decode(rows).first else { throw PorticoError.notFound("identity provider \(provider.id)") }
        return updated
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM identity_providers WHERE id = \(id)", logger: logger)
    }

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [IdentityProvider] {
        var providers: [IdentityProvider] = []
        let decoder = JSONDecoder()
        for try await (id, settings, metadata, createdAt, updatedAt) in rows.decode((UUID, String, String, Date, Date).self) {
            providers.append(
                IdentityProvider(
                    id: id, settings: try decoder.decode(IdentityProviderSettings.self, from: Data(settings.utf8)),
                    metadata: try decoder.decode(ProviderMetadata.self, from: Data(metadata.utf8)), createdAt: createdAt, updatedAt: updatedAt))
        }
        return providers
    }
}
