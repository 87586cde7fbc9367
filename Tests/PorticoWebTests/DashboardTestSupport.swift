import Foundation
import HummingbirdBcrypt
import HummingbirdTesting
import PorticoCore
import PorticoTestSupport
import PorticoWeb

let adminPassword = "correct horse battery staple"

/// The control plane with a browser-like client; the test portico's admin gets a password (cheap Bcrypt cost).
func withDashboard(
    sessions: SignInService.SessionPolicy = .init(), passwordSignIn: Bool = true,
    _ body: @escaping @Sendable (WebClient, TestPortico) async throws -> Void
) async throws {
    try await withTestPortico { portico in
        try await setPassword(adminPassword, for: portico.admin.id, in: portico)
        try await portico.controlPlane(sessions: sessions, passwordSignIn: passwordSignIn).test(.router) { client in
            try await body(WebClient(client), portico)
        }
    }
}

func setPassword(_ password: String, for userId: UUID, in portico: TestPortico) async throws {
    let hash = Bcrypt.hash(password, cost: 4)
    try await portico.store.read { try await portico.store.users.setPasswordHash(hash, for: userId, on: $0) }
}

extension WebClient {
    /// Signs in at `/admin` (or `/portal`) and follows to the start page.
    func signIn(_ email: String = "admin@example.com", password: String = adminPassword, area: String = "admin") async throws -> Page {
        try await get("/\(area)/sign-in")
        return try await post("/\(area)/sign-in", [("email", email), ("password", password)])
    }
}
