import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Optimistic concurrency for admin resources: each row has a version (`row_version`, bumped by every UPDATE,
/// `sql/0013`) that the admin API sends as `ETag` and the dashboard's edit forms carry. A change made with the
/// version its author read fails, changing nothing, when the row has moved on since.
public enum RowVersion {
    /// The admin resources that have versions, by table.
    public enum Table: String, Sendable {
        case users, groups, apis
        case accesses = "api_access"
        case plans
        case identityProviders = "identity_providers"
        /// One row, whose `version` also tells gateways to rebuild their verifiers.
        case authSettings = "auth_settings"

        var versionColumn: String { self == .authSettings ? "version::bigint" : "row_version" }

        /// The row of `id`, or the table's one row.
        func row(_ id: UUID?) -> String { id.map { "WHERE id = '\($0.uuidString)'" } ?? "" }
    }

    /// The version a write expects, set around a service call (`expecting`); `AdminStore.write` checks it in the
    /// write's own transaction, with the row locked, before it changes anything.
    public struct Expectation: Sendable {
        let table: Table
        let id: UUID?
        let version: Int64
    }

    @TaskLocal static var expected: Expectation?

    /// Runs `body` (a service's write) so that it fails with `changedSinceRead` unless row `id` of `table` is still at
    /// `version`; nil expects nothing.
    public static func expecting<Result>(
        _ version: Int64?, of table: Table, id: UUID?, _ body: () async throws -> Result
    ) async throws -> Result {
        guard let version else { return try await body() }
        return try await $expected.withValue(Expectation(table: table, id: id, version: version), operation: body)
    }

    /// Checks the expectation set around this write, if any, locking the row until the transaction ends.
    static func check(on connection: PostgresConnection, logger: Logger) async throws {
        guard let expected else { return }
        let rows = try await connection.query(
            "SELECT \(unescaped: expected.table.versionColumn) FROM \(unescaped: expected.table.rawValue) \(unescaped: expected.table.row(expected.id)) FOR UPDATE",
            logger: logger)
        var current: Int64?
        for try await version in rows.decode(Int64.self) { current = version }
        guard let current else { return }  // the write itself reports a missing row
        guard current == expected.version else {
            throw PorticoError.changedSinceRead(
                "it was changed by someone else since you read it (version \(expected.version), now \(current)); read it again and redo the change")
        }
    }

    /// The row's current version; nil when there is no such row.
    public static func current(of table: Table, id: UUID?, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT \(unescaped: table.versionColumn) FROM \(unescaped: table.rawValue) \(unescaped: table.row(id))", logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        return nil
    }

    /// The version in an `If-Match` header (`"3"` or `W/"3"`); nil without one or for `*`. A value that is no
    /// version of ours can match nothing: it is a 412 as a stale one is.
    public static func fromIfMatch(_ header: String?) -> Int64?? {
        guard var value = header?.trimmingCharacters(in: .whitespaces), !value.isEmpty, value != "*" else { return .none }
        if value.hasPrefix("W/") { value.removeFirst(2) }
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return .some(nil) }
        return .some(Int64(value.dropFirst().dropLast()))
    }

    public static func etag(_ version: Int64) -> String { "\"\(version)\"" }
}

/// Reads rows' versions, for pages whose forms carry them.
public struct RowVersionReader: Sendable {
    let store: AdminStore

    public init(store: AdminStore) { self.store = store }

    public func current(_ table: RowVersion.Table, id: UUID?) async throws -> Int64? {
        let logger = store.database.logger
        return try await store.read { try await RowVersion.current(of: table, id: id, on: $0, logger: logger) }
    }
}
