import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// The `apis` table.
public struct APIRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    private static let columns = """
        id, name, path_prefix, host, upstream, strip_prefix, status,
        (SELECT array_agg(p.name ORDER BY p.name) FROM api_token_providers t JOIN identity_providers p ON p.id = t.provider_id
         WHERE t.api_id = apis.id),
        auth, oidc::text, forward_credential, max_body_bytes, openapi_url, created_at, updated_at
        """
    private static let select = "SELECT \(columns) FROM apis"

    public func create(_ api: APIDefinition, on connection: PostgresConnection) async throws -> APIDefinition {
        let rows = try await connection.query(
            """
            INSERT INTO apis (name, path_prefix, host, upstream, strip_prefix, status, forward_credential, max_body_bytes, openapi_url)
            VALUES (\(api.name), \(api.pathPrefix), \(api.host), \(api.upstream), \(api.stripPrefix), \(api.status.rawValue),
                    \(api.forwardCredential), \(api.maxBodyBytes.map(Int64.init)), \(api.openapiUrl))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await decode(rows).first else { throw PorticoError.conflict("the API was not created") }
        return created
    }

    public func list(on connection: PostgresConnection) async throws -> [APIDefinition] {
        try await decode(connection.query("\(unescaped: Self.select) ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> APIDefinition? {
        try await decode(connection.query("\(unescaped: Self.select) WHERE id = \(id)", logger: logger)).first
    }

    public func require(_ id: UUID, on connection: PostgresConnection) async throws -> APIDefinition {
        guard let api = try await find(id, on: connection) else { throw PorticoError.notFound("API \(id)") }
        return api
    }

    public func update(_ api: APIDefinition, on connection: PostgresConnection) async throws -> APIDefinition {
        let rows = try await connection.query(
            """
            UPDATE apis SET name = \(api.name), path_prefix = \(api.pathPrefix), host = \(api.host), upstream = \(api.upstream),
                   strip_prefix = \(api.stripPrefix), status = \(api.status.rawValue), auth = \(api.auth.rawValue),
                   oidc = \(try Self.json(api.oidc))::jsonb, forward_credential = \(api.forwardCredential),
                   max_body_bytes = \(api.maxBodyBytes.map(Int64.init)), openapi_url = \(api.openapiUrl), updated_at = now()
            WHERE id = \(api.id)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let updated = try await decode(rows).first else { throw PorticoError.notFound("API \(api.id)") }
        return updated
    }

    public func delete(_ id: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM apis WHERE id = \(id)", logger: logger)
    }

    /// Sets which identity providers' tokens the API accepts (by id); nil accepts all trusted providers.
    public func setTokenProviders(_ providerIds: [UUID]?, of api: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM api_token_providers WHERE api_id = \(api)", logger: logger)
        for providerId in providerIds ?? [] {
            try await connection.query("INSERT INTO api_token_providers (api_id, provider_id) VALUES (\(api), \(providerId))", logger: logger)
        }
    }

    /// The names of the OIDC-protected APIs whose sessions come from the provider named `provider`.
    public func namesSignedInThrough(provider: String, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(
            "SELECT name FROM apis WHERE auth = 'oidc' AND oidc->>'provider' = \(provider) ORDER BY name", logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// The names of the APIs that accept tokens of only some providers, `provider` among them.
    public func namesNarrowedTo(provider: UUID, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT a.name FROM api_token_providers t JOIN apis a ON a.id = t.api_id WHERE t.provider_id = \(provider) ORDER BY a.name
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// The ids of the named APIs, in the order given; an unknown name is an `invalid(field)` error.
    public func ids(named names: [String], field: String, on connection: PostgresConnection) async throws -> [UUID] {
        try await connection.ids(named: names, inTable: "apis", kind: "API", field: field, logger: logger)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [APIDefinition] {
        var apis: [APIDefinition] = []
        for try await (
            id, name, prefix, host, upstream, strip, status, tokenProviders, auth, oidc, forwardCredential, maxBodyBytes, openapiUrl, createdAt,
            updatedAt
        )
            in rows.decode((UUID, String, String, String?, String, Bool, String, [String]?, String, String?, Bool, Int64?, String?, Date, Date).self)
        {
            apis.append(
                APIDefinition(
                    id: id, name: name, pathPrefix: prefix, host: host, upstream: upstream, stripPrefix: strip,
                    status: APIStatus(rawValue: status) ?? .disabled, forwardCredential: forwardCredential, maxBodyBytes: maxBodyBytes.map(Int.init),
                    tokenProviders: tokenProviders, auth: APIAuth(rawValue: auth) ?? .default,
                    oidc: try oidc.map { try JSONDecoder().decode(APIOIDCSettings.self, from: Data($0.utf8)) }, openapiUrl: openapiUrl,
                    createdAt: createdAt,
                    updatedAt: updatedAt))
        }
        return apis
    }

    static func json(_ settings: APIOIDCSettings?) throws -> String? {
        guard let settings else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(settings), as: UTF8.self)
    }
}
