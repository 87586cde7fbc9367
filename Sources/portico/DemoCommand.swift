import ArgumentParser
import Foundation
import HummingbirdBcrypt
import PorticoCore
import PorticoStore
import PorticoWeb

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Demo data for `make run`.", subcommands: [Seed.self])

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or reuse) a demo admin, API, group, consumer and grant; print a fresh admin token and consumer key.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Upstream of the demo API.") var upstream: String = "http://127.0.0.1:9000"
        @Option(help: "Gateway address for the printed curl line.") var gateway: String = "http://127.0.0.1:8000"
        @Option(help: "Admin API address for the printed curl line.") var admin: String = "http://127.0.0.1:8080"
        @Option(
            name: .customLong("identity-provider"),
            help: "Issuer of an OpenID provider running locally (oidc-provider-mock, say) to register as 'local' for sign-in.")
        var identityProvider: String?

        func run() async throws {
            let (upstream, issuer) = (self.upstream, identityProvider)
            let result = try await CLI.withDatabase(database, logger: logging.logger("portico.demo")) { database in
                try await DemoSeeder(store: AdminStore(database: database)).seed(upstream: upstream, identityProvider: issuer)
            }
            if let password = result.adminPassword {
                print("Admin:        admin@portico.local / \(password)   (password shown once)")
            } else {
                print("Admin:        admin@portico.local (existing; a new password: \(admin)/portal/invite/\(result.adminInvitation))")
            }
            print("Dashboard:    \(admin)/admin")
            print("Portal:       \(admin)/portal   (consumer@portico.local sets a password at \(admin)/portal/invite/\(result.consumerInvitation))")
            switch result.identityProvider {
            case .registered(let issuer):
                print(
                    "Sign-in:      through identity provider 'local' (\(issuer)) on the dashboard and portal; members of 'admins' get the dashboard")
            case .notRegistered(let reason):
                print("Sign-in:      identity provider not registered: \(reason)")
            case nil:
                break
            }
            print("API document: \(result.document); the portal renders it at \(admin)/portal")
            print("Admin token:  \(result.adminToken)")
            print("Consumer key: \(result.consumerKey)")
            print("")
            print("Call the demo API through the gateway (limit: 10 requests per minute):")
            print("  curl -i -H 'Authorization: Bearer \(result.consumerKey)' \(gateway)/demo/hello")
            print("List APIs with the admin API:")
            print("  curl -H 'Authorization: Bearer \(result.adminToken)' \(admin)/api/v1/apis")
        }
    }
}

struct DemoSeedResult: Sendable {
    var adminPassword: String?
    var adminInvitation: String
    var consumerInvitation: String
    var adminToken: String
    var consumerKey: String
    var identityProvider: ProviderSeed?
    /// What became of the demo API's OpenAPI document.
    var document: String

    /// A local identity provider for sign-in, when one was given: registered, or why not (never fatal).
    enum ProviderSeed: Sendable {
        case registered(issuer: String)
        case notRegistered(String)
    }
}

/// Find-or-create of the demo entities, so `make run` can be run again and again.
struct DemoSeeder {
    let store: AdminStore

    func seed(upstream: String, identityProvider issuer: String? = nil) async throws -> DemoSeedResult {
        let actor = Actor(id: nil, label: "demo-seed")
        let users = UserService(store: store)
        var password: String?
        if try await store.read({ try await store.users.find(email: "admin@portico.local", on: $0) }) == nil {
            let generated = SecretFormat.randomPassword(length: 20)
            _ = try await users.create(
                UserInput(email: "admin@portico.local", name: "Demo admin", role: .admin), passwordHash: Bcrypt.hash(generated), by: actor)
            password = generated
        }
        try await ignoringDuplicate { _ = try await GroupService(store: store).create(name: "demo-consumers", by: actor) }
        try await ignoringDuplicate {
            _ = try await APIService(store: store).create(
                APIInput(name: "demo", pathPrefix: "/demo", upstream: upstream, stripPrefix: true), by: actor)
        }
        let document = try await seedDocument(by: actor)
        try await ignoringDuplicate {
            _ = try await AccessService(store: store).create(
                AccessInput(name: "demo-access", groups: ["demo-consumers"], apis: ["demo"], rateLimit: RateLimitInput(limit: 10, period: "1m")),
                by: actor)
        }
        let consumer: User
        if let existing = try await store.read({ try await store.users.find(email: "consumer@portico.local", on: $0) }) {
            consumer = existing
        } else {
            consumer = try await users.create(
                UserInput(email: "consumer@portico.local", name: "Demo consumer", groups: ["demo-consumers"]), by: actor)
        }
        let key = try await KeyService(store: store).create(for: consumer.id, name: "demo \(Date())", expiresAt: nil, by: actor)
        let token = try await AdminTokenService(store: store).issue(forEmail: "admin@portico.local", name: "demo", by: actor)
        let invitations = InvitationService(store: store)
        guard let admin = try await store.read({ try await store.users.find(email: "admin@portico.local", on: $0) }) else {
            throw PorticoError.notFound("user admin@portico.local")
        }
        return DemoSeedResult(
            adminPassword: password, adminInvitation: try await invitations.invite(admin.id, by: actor),
            consumerInvitation: try await invitations.invite(consumer.id, by: actor), adminToken: token.key, consumerKey: key.key,
            identityProvider: try await issuer.asyncMap { try await seedProvider($0, by: actor) }, document: document)
    }

    /// Points the demo API at the echo upstream's own OpenAPI document, once: fetched now, so an upstream that is
    /// not running leaves the API without one (reported, not fatal).
    private func seedDocument(by actor: Actor) async throws -> String {
        guard let api = try await APIService(store: store).list().first(where: { $0.name == "demo" }) else { return "no demo API" }
        if api.openapiUrl != nil { return "fetched from the demo upstream's /openapi.json" }
        do {
            _ = try await APIService(store: store).update(api.id, APIPatch(openapiUrl: .some("/openapi.json")), by: actor)
            return "fetched from the demo upstream's /openapi.json"
        } catch let error as PorticoError {
            return "not fetched (\(error.message))"
        }
    }

    /// Registers a local OpenID provider as `local`, a public client `portico` (no secret) for dashboard and portal
    /// sign-in; one that cannot be discovered is reported, not fatal: the demo never needs it.
    private func seedProvider(_ issuer: String, by actor: Actor) async throws -> DemoSeedResult.ProviderSeed {
        let service = IdentityProviderService(store: store, secretBox: nil)
        if try await service.list().contains(where: { $0.settings.name == "local" }) { return .registered(issuer: issuer) }
        var settings = IdentityProviderSettings(name: "local", issuer: issuer)
        settings.clientId = "portico"
        settings.signIn = .init(dashboard: true, portal: true)
        settings.adminGroups = ["admins"]
        settings.clientConfig = .init(timeoutSeconds: 2, maxRetries: 0)
        do {
            _ = try await service.create(settings, by: actor)
            return .registered(issuer: issuer)
        } catch let error as PorticoError {
            return .notRegistered(error.message)
        }
    }

    private func ignoringDuplicate(_ body: () async throws -> Void) async throws {
        do { try await body() } catch PorticoError.duplicate {}
    }
}

extension Optional {
    /// `map` with an asynchronous transform.
    func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
