import Foundation
import HummingbirdBcrypt
import NIOPosix
import PorticoCore
import PorticoStore
import PostgresNIO

/// Password sign-in for the dashboard and the portal, throttled per account and per address, and the server-side
/// sessions it opens.
public struct SignInService: Sendable {
    let store: AdminStore
    let sessions: WebSessionRepository
    let failures: SignInFailureRepository
    let throttle: SignInThrottle
    let policy: SessionPolicy

    /// How long a session lives: idle, and in all.
    public struct SessionPolicy: Sendable {
        public var idleSeconds: Int
        public var maxAgeSeconds: Int

        public init(idleSeconds: Int = 30 * 60, maxAgeSeconds: Int = 12 * 3600) {
            self.idleSeconds = idleSeconds
            self.maxAgeSeconds = maxAgeSeconds
        }
    }

    public init(store: AdminStore, throttle: SignInThrottle = .standard, policy: SessionPolicy = .init()) {
        self.store = store
        self.sessions = WebSessionRepository(logger: store.database.logger)
        self.failures = SignInFailureRepository(logger: store.database.logger)
        self.throttle = throttle
        self.policy = policy
    }

    /// A sign-in: a new session, a refusal with the message to show, or a lockout.
    public enum Outcome: Sendable {
        case signedIn(user: User, cookieSecret: String)
        case refused(String)
        case locked(minutes: Int)
    }

    /// A hash to verify against when the account does not exist or has no password, so that the answer takes as long.
    private static let decoyHash = Bcrypt.hash("portico decoy password", cost: 12)

    /// Checks the password (after the throttle's delay, refusing while locked) and opens a session on success.
    public func signIn(email: String, password: String, address: String) async throws -> Outcome {
        let subjects = ["account:" + email.lowercased(), "address:" + address]
        let states = try await store.read { connection in
            var states: [SignInFailureRepository.State] = []
            for subject in subjects {
                states.append(try await failures.state(of: subject, windowSeconds: throttle.windowSeconds, on: connection))
            }
            return states
        }
        if let locked = states.compactMap(\.lockedForSeconds).max() {
            return .locked(minutes: max(1, Int((locked / 60).rounded(.up))))
        }
        let delay = throttle.delaySeconds(afterFailures: states.map(\.failures).max() ?? 0)
        if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) }

        let (user, hash) = try await store.read { connection -> (User?, String?) in
            guard let user = try await store.users.find(email: email, on: connection) else { return (nil, nil) }
            return (user, try await store.users.passwordHash(of: user.id, on: connection))
        }
        let verified = try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? Self.decoyHash) && hash != nil
        }
        guard verified, let user, !user.disabled else {
            let counts = try await store.database.transaction { connection in
                var counts: [Int] = []
                for subject in subjects {
                    counts.append(
                        try await failures.recordFailure(
                            of: subject, windowSeconds: throttle.windowSeconds, lockAt: throttle.maxFailures,
                            lockoutSeconds: throttle.lockoutSeconds, on: connection))
                }
                return counts
            }
            if let worst = counts.max(), throttle.locks(atFailures: worst) {
                return .locked(minutes: max(1, Int((throttle.lockoutSeconds / 60).rounded(.up))))
            }
            return .refused("The email or the password is not right.")
        }
        let secret = try await store.database.transaction { connection in
            try await failures.clear(subjects[0], on: connection)
            return try await startSession(for: user, on: connection)
        }
        return .signedIn(user: user, cookieSecret: secret)
    }

    /// A new session for `user` (who signed in through `provider`, with this sealed ID token, when given); returns the
    /// cookie's secret, which only the browser keeps.
    func startSession(
        for user: User, provider: (id: UUID, sealedIdToken: String?)? = nil, on connection: PostgresConnection
    ) async throws -> String {
        let secret = SecretFormat.session.generate()
        let csrf = SecretFormat.csrf.generate().secret
        try await sessions.create(secretHash: secret.hash, userId: user.id, csrfToken: csrf, provider: provider, on: connection)
        try await connection.query("UPDATE users SET last_seen_at = now() WHERE id = \(user.id)", logger: store.database.logger)
        return secret.secret
    }

    /// The user behind a session cookie, and the session's form token.
    public struct SignedIn: Sendable {
        public let user: User
        public let csrfToken: String
    }

    /// The session behind a cookie, when it is still valid and its user enabled; the idle timer restarts.
    public func session(cookieSecret: String) async throws -> SignedIn? {
        guard SecretFormat.session.matches(cookieSecret) else { return nil }
        let hash = SecretHash(of: cookieSecret)
        return try await store.read { connection in
            guard
                let session = try await sessions.touch(
                    secretHash: hash, idleSeconds: policy.idleSeconds, maxAgeSeconds: policy.maxAgeSeconds, on: connection),
                let user = try await store.users.find(session.userId, on: connection), !user.disabled
            else { return nil }
            return SignedIn(user: user, csrfToken: session.csrfToken)
        }
    }

    /// Ends the session behind the cookie, if there is one; says which identity provider it came from, with the
    /// ID token, for the provider's own sign-out.
    @discardableResult
    public func signOut(cookieSecret: String) async throws -> (providerId: UUID, sealedIdToken: String?)? {
        guard SecretFormat.session.matches(cookieSecret) else { return nil }
        return try await store.read { try await sessions.end(secretHash: SecretHash(of: cookieSecret), on: $0) }
    }
}

/// Invitation links by which a consumer (or an admin) sets a password.
public struct InvitationService: Sendable {
    let store: AdminStore
    let invitations: InvitationRepository
    static let validForSeconds = 7 * 24 * 3600

    public init(store: AdminStore) {
        self.store = store
        self.invitations = InvitationRepository(logger: store.database.logger)
    }

    /// A new link token for `userId`, shown once.
    public func invite(_ userId: UUID, by actor: Actor) async throws -> String {
        let token = SecretFormat.invitation.generate()
        return try await store.write("user.invite", entity: "user", by: actor) { connection in
            let user = try await store.users.require(userId, on: connection)
            try await invitations.create(tokenHash: token.hash, userId: userId, validForSeconds: Self.validForSeconds, on: connection)
            return (AdminStore.Change<User, User>(before: nil, after: nil, entityId: user.id.uuidString), token.secret)
        }
    }

    /// The user an unused, unexpired invitation link is for.
    public func invitedUser(token: String) async throws -> User? {
        guard SecretFormat.invitation.matches(token) else { return nil }
        return try await store.read { connection in
            guard let id = try await invitations.pendingUser(tokenHash: SecretHash(of: token), on: connection) else { return nil }
            return try await store.users.find(id, on: connection)
        }
    }

    /// Sets the password of the invited user and uses the link up.
    public func accept(token: String, password: String) async throws -> User {
        guard password.count >= 12 else { throw PorticoError.invalid(field: "password", reason: "must be at least 12 characters") }
        guard SecretFormat.invitation.matches(token) else { throw PorticoError.notFound("invitation") }
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 12) }
        let tokenHash = SecretHash(of: token)
        return try await store.write("user.password_set", entity: "user", by: Actor(id: nil, label: "invitation")) { connection in
            guard let id = try await invitations.pendingUser(tokenHash: tokenHash, on: connection) else {
                throw PorticoError.notFound("invitation (used or expired)")
            }
            try await store.users.setPasswordHash(hash, for: id, on: connection)
            try await invitations.markUsed(tokenHash: tokenHash, on: connection)
            let user = try await store.users.require(id, on: connection)
            return (AdminStore.Change<User, User>(before: nil, after: nil, entityId: id.uuidString), user)
        }
    }
}
