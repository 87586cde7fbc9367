import Foundation
import Logging
import PorticoCore
import PostgresNIO
import Synchronization

/// The PostgreSQL client of a Portico process, with the one place where database errors become
/// domain errors.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long an operation may wait for the database before it fails as `unavailable` (503): the pool
    /// would otherwise wait for a connection to a server that is down for as long as it stays down.
    public let operationTimeout: Duration

    public init(client: PostgresClient, logger: Logger, operationTimeout: Duration = .seconds(5)) {
        self.client = client
        self.logger = logger
        self.operationTimeout = operationTimeout
    }

    /// Runs `body` in one transaction; any error rolls it back and is rethrown as it was thrown
    /// (translated to a `PorticoError` when it came from PostgreSQL).
    public func transaction<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withDeadline { try await transactionWithoutDeadline(body) }
    }

    /// Runs `body` in one transaction with no deadline: it waits for the database as long as it takes and
    /// reports what really happened. A caller that gave up at a deadline could not tell a transaction that never
    /// ran from one that committed after it gave up.
    public func transactionWithoutDeadline<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await Self.translatingErrors {
            try await client.withConnection { connection in
                try await connection.inTransaction(logger: logger) { try await body(connection) }
            }
        }
    }

    /// A transaction given up on at cancellation while still pending: it may yet commit, or not.
    public struct OutcomeUnknown: Error, Sendable {}

    /// `transactionWithoutDeadline`, except that cancellation (a shutdown) stops the wait, throwing
    /// `OutcomeUnknown`: a query in flight is not interrupted by cancelling its task, so a stuck connection would
    /// otherwise hold the caller, and its process's shutdown, for ever.
    public func transactionUntilCancelled<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let work = Task { try await transactionWithoutDeadline(body) }
        let outcome = FirstOutcome<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.install(continuation)
                Task { outcome.finish(await work.result) }
            }
        } onCancel: {
            work.cancel()
            outcome.finish(.failure(OutcomeUnknown()))
        }
    }

    /// Runs `body` on a pooled connection outside of a transaction (reads), within `timeout` (by default the
    /// operation timeout; a policy load of a million keys gets a deadline of its own).
    public func read<Result: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withDeadline(timeout ?? operationTimeout) {
            try await client.withConnection { try await body($0) }
        }
    }

    /// Runs `operation` with database errors translated, failing as `unavailable` past `timeout`.
    /// The operation is cancelled then; an open transaction is rolled back, never committed half-way. The caller
    /// does not wait for the cancelled operation to end: a query on a connection whose server vanished may not
    /// notice cancellation until the connection dies, and the deadline must hold even so (a task group would wait
    /// for it, and with it every shutdown).
    func withDeadline<Result: Sendable>(
        _ timeout: Duration? = nil, _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let timeout = timeout ?? operationTimeout
        let work = Task { try await Self.translatingErrors(operation) }
        let outcome = FirstOutcome<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.install(continuation)
                Task { outcome.finish(await work.result) }
                Task {
                    try? await Task.sleep(for: timeout)
                    outcome.finish(.failure(PorticoError.unavailable("the database did not answer within \(timeout); try again when it is back")))
                    work.cancel()
                }
            }
        } onCancel: {
            work.cancel()
            outcome.finish(.failure(PorticoError.unavailable("the database operation was cancelled")))
        }
    }

    static func translatingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw Self.translate(error)
        }
    }

    static func translate(_ error: PSQLError) -> any Error {
        if let server = error.serverInfo, let state = server[.sqlState] {
            let detail = server[.detail] ?? server[.message] ?? ""
            switch state {
            case "23505": return PorticoError.duplicate(Self.describeDuplicate(detail))
            case "23503": return PorticoError.notFound(Self.describeMissing(detail))
            case "22P02", "22023", "23514", "22001":
                return PorticoError.invalid(field: server[.columnName] ?? "input", reason: server[.message] ?? "invalid value")
            default: return error
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed:
            return PorticoError.unavailable("the database is not reachable")
        default:
            return error
        }
    }

    /// Turns "Key (name)=(orders) already exists." into "name 'orders'".
    static func describeDuplicate(_ detail: String) -> String {
        guard let open = detail.range(of: "Key ("), let close = detail.range(of: ")=(", range: open.upperBound..<detail.endIndex),
            let end = detail.range(of: ")", range: close.upperBound..<detail.endIndex)
        else { return "an entry with these values" }
        var column = String(detail[open.upperBound..<close.lowerBound])
        column = column.replacingOccurrences(of: "lower(email)", with: "email")
            .replacingOccurrences(of: "COALESCE(host, ''::text)", with: "host")
        return "\(column) '\(detail[close.upperBound..<end.lowerBound])'"
    }

    static func describeMissing(_ detail: String) -> String {
        if let range = detail.range(of: "is not present in table \"") {
            let table = detail[range.upperBound...].prefix(while: { $0 != "\"" })
            return "referenced \(table.hasSuffix("s") ? String(table.dropLast()) : String(table))"
        }
        return "referenced entity"
    }
}

extension PostgresConnection {
    /// Runs `body` between `begin` and COMMIT; any error rolls back and is rethrown as it was thrown
    /// (postgres-nio's own `withTransaction` wraps errors, which would hide the domain errors).
    func inTransaction<Result>(
        _ begin: PostgresQuery = "BEGIN", logger: Logger, _ body: () async throws -> Result
    ) async throws -> Result {
        try await query(begin, logger: logger)
        do {
            let result = try await body()
            try await query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Resolves unique names of `table` (a fixed table name, never input) to ids, in the order given.
    func ids(named names: [String], inTable table: String, kind: String, field: String, logger: Logger) async throws -> [UUID] {
        let rows = try await query("SELECT name, id FROM \(unescaped: table) WHERE name = ANY(\(names))", logger: logger)
        var byName: [String: UUID] = [:]
        for try await (name, id) in rows.decode((String, UUID).self) { byName[name] = id }
        return try names.map { name in
            guard let id = byName[name] else { throw PorticoError.invalid(field: field, reason: "no \(kind) named '\(name)'") }
            return id
        }
    }
}

/// The LISTEN/NOTIFY channel on which every policy change is announced to the gateways, with its version as
/// the payload; `sql/0008_policy_changes.sql` sends it at the COMMIT of each change.
public enum PolicyChannel {
    public static let name = "portico_policy"
}

/// The first of several racing outcomes, delivered once to a continuation (which may be installed after an outcome
/// came, or never when the caller was cancelled first).
private final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var outcome: Result<Value, any Error>?
        var delivered = false
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let ready: Result<Value, any Error>? = state.withLock { state in
            guard let outcome = state.outcome, !state.delivered else {
                state.continuation = continuation
                return nil
            }
            state.delivered = true
            return outcome
        }
        if let ready { continuation.resume(with: ready) }
    }

    func finish(_ outcome: Result<Value, any Error>) {
        let waiting: CheckedContinuation<Value, any Error>? = state.withLock { state in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            guard let continuation = state.continuation, !state.delivered else { return nil }
            state.delivered = true
            return continuation
        }
        waiting?.resume(with: outcome)
    }
}
