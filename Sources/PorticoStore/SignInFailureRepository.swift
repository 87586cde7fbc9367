import Foundation
import Logging
import PorticoCore
import PostgresNIO

/// Failed sign-ins per subject (an account or an address), for `SignInThrottle`.
public struct SignInFailureRepository: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Failures counted in the current window, and how long a running lockout still lasts.
    public struct State: Sendable {
        public let failures: Int
        public let lockedForSeconds: Double?
    }

    /// Recent failures and any lockout still running; failures older than the window count as none.
    public func state(of subject: String, windowSeconds: Double, on connection: PostgresConnection) async throws -> State {
        let rows = try await connection.query(
            """
            SELECT CASE WHEN first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN failures ELSE 0 END,
                   extract(epoch FROM locked_until - now())::float8
            FROM sign_in_failures WHERE subject = \(subject)
            """, logger: logger)
        for try await (failures, lockedFor) in rows.decode((Int, Double?).self) {
            return State(failures: failures, lockedForSeconds: lockedFor.flatMap { $0 > 0 ? $0 : nil })
        }
        return State(failures: 0, lockedForSeconds: nil)
    }

    /// Counts a failure (starting a new window when the old one has passed) and locks when `lockAt` is reached.
    @discardableResult
    public func recordFailure(
        of subject: String, windowSeconds: Double, lockAt: Int, lockoutSeconds: Double, on connection: PostgresConnection
    ) async throws -> Int {
        let rows = try await connection.query(
            """
            INSERT INTO sign_in_failures AS f (subject, failures, first_failure_at) VALUES (\(subject), 1, now())
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN f.first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN f.failures + 1 ELSE 1 END,
                first_failure_at = CASE WHEN f.first_failure_at > now() - make_interval(secs => \(windowSeconds)) THEN f.first_failure_at ELSE now() END,
                locked_until = CASE WHEN f.locked_until > now() THEN f.locked_until ELSE NULL END
            RETURNING failures
            """, logger: logger)
        var count = 0
        for try await failures in rows.decode(Int.self) { count = failures }
        if count >= lockAt {
            try await connection.query(
                """
                UPDATE sign_in_failures SET locked_until = now() + make_interval(secs => \(lockoutSeconds)) WHERE subject = \(subject)
                """, logger: logger)
        }
        return count
    }

    public func clear(_ subject: String, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM sign_in_failures WHERE subject = \(subject)", logger: logger)
    }
}
