import Foundation
import PorticoCore
import PorticoStore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The `portico` binary as an operator runs it.
@Suite struct CLITests {
    @Test func aWrongOrUnreachableDatabaseIsOneLineAndAFailingExit() throws {
        for url in ["http://nope", "postgres://postgres@127.0.0.1:1/portico?sslmode=disable"] {
            let result = try runPortico(["migrate", "--database-url", url])
            #expect(result.status != 0, "\(url)")
            #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        let missing = try runPortico(["migrate"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("DATABASE_URL"))
    }

    @Test func demoSeedRegistersALocalProviderWhenGivenOneAndGoesOnWithoutIt() async throws {
        let provider = try TestOIDCProvider()
        try await withTestOIDCProvider(provider) { issuer in
            let database = try await TestDatabase.create()
            defer { Task { await database.drop() } }
            let env = ["DATABASE_URL": database.url.connectionString]
            let unreachable = try runPortico(["demo", "seed", "--identity-provider", "http://127.0.0.1:1"], environment: env)
            #expect(unreachable.status == 0, "\(unreachable.stderr)")
            #expect(unreachable.stdout.contains("identity provider not registered: issuer: discovery failed"), "\(unreachable.stdout)")
            #expect(
                unreachable.stdout.contains("API document: not fetched (openapiUrl: fetching "), "no demo upstream runs here: \(unreachable.stdout)")
            let seeded = try runPortico(["demo", "seed", "--identity-provider", issuer], environment: env)
            #expect(seeded.status == 0, "\(seeded.stderr)")
            #expect(seeded.stdout.contains("Sign-in:      through identity provider 'local' (\(issuer))"))
            let names = try await withClient(database.url) { database in
                try await database.read { connection in
                    try await connection.query("SELECT name FROM identity_providers", logger: database.logger).decode(String.self)
                        .reduce(into: [String]()) { $0.append($1) }
                }
            }
            #expect(names == ["local"])
            let again = try runPortico(["demo", "seed", "--identity-provider", issuer], environment: env)
            #expect(again.status == 0 && again.stdout.contains("through identity provider 'local'"), "seeding twice keeps the one provider")
        }
    }

    @Test func migrateThenStatusThenUpToDate() async throws {
        let database = try await TestDatabase.createEmpty()
        defer { Task { await database.drop() } }
        let env = ["DATABASE_URL": database.url.connectionString, "PORTICO_MIGRATIONS": TestDatabase.migrationsFolder.path]
        let pending = try runPortico(["migrate", "--status"], environment: env)
        #expect(pending.status == 0)
        #expect(pending.stdout.contains("pending  0001_initial.sql"))
        let first = try runPortico(["migrate"], environment: env)
        #expect(first.status == 0)
        #expect(first.stdout.contains("applied 0001_initial.sql"))
        let second = try runPortico(["migrate"], environment: env)
        #expect(second.stdout.contains("up to date"))
        let status = try runPortico(["migrate", "--status"], environment: env)
        #expect(status.stdout.contains("applied  0001_initial.sql"))
    }

    @Test func adminCreateAndTokenPrintTheSecretOnceAndStoreOnlyHashes() async throws {
        try await withTestPortico { portico in
            let env = ["DATABASE_URL": portico.testDatabase.url.connectionString]
            let created = try runPortico(
                ["admin", "create", "--email", "ops@example.com", "--name", "Ops"], environment: env, input: "a long enough password\n")
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("created admin ops@example.com"))
            #expect(!created.stdout.contains("password"))
            let hash = try await portico.store.read { connection in
                let user = try await portico.store.users.find(email: "ops@example.com", on: connection)
                return try await portico.store.users.passwordHash(of: user?.id ?? UUID(), on: connection)
            }
            #expect(hash?.hasPrefix("$2") == true)

            let generated = try runPortico(["admin", "create", "--email", "gen@example.com"], environment: env)
            #expect(generated.stdout.contains("password (shown once): "))

            let short = try runPortico(["admin", "create", "--email", "s@example.com"], environment: env, input: "short\n")
            #expect(short.status != 0)
            #expect(short.stderr.contains("12 characters"))

            let token = try runPortico(["admin", "token", "--email", "ops@example.com", "--name", "deploy"], environment: env)
            #expect(token.status == 0)
            let secret = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.hasPrefix("pat_"))
            let user = try await AdminTokenService(store: portico.store).authenticate(secret)
            #expect(user?.email == "ops@example.com")

            let id = try #require(token.stderr.split(separator: " ").dropFirst(2).first.map(String.init))
            let revoked = try runPortico(["admin", "token", "--revoke", id], environment: env)
            #expect(revoked.status == 0, "\(revoked.stderr)")
            #expect(try await AdminTokenService(store: portico.store).authenticate(secret) == nil)

            let notAdmin = try runPortico(["admin", "token", "--email", "nobody@example.com"], environment: env)
            #expect(notAdmin.status != 0)
            #expect(notAdmin.stderr.contains("not found"))
        }
    }
}
