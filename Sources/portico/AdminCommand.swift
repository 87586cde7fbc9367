import ArgumentParser
import Foundation
import HummingbirdBcrypt
import PorticoCore
import PorticoStore
import PorticoWeb

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Create admins and their API tokens.", subcommands: [Create.self, Token.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin. The password is read from stdin, or generated and printed once.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option var email: String
        @Option var name: String?

        func run() async throws {
            let (password, generated) = Self.readPassword()
            guard password.count >= 12 else { throw CLI.fail(CLIFailure("the password must be at least 12 characters")) }
            let hash = Bcrypt.hash(password, cost: 12)
            let input = UserInput(email: email, name: name, role: .admin)
            let user = try await CLI.withDatabase(database, logger: logging.logger("portico.admin")) { database in
                try await UserService(store: AdminStore(database: database)).create(input, passwordHash: hash, by: .cli)
            }
            print("created admin \(user.email) (\(user.id))")
            if generated { print("password (shown once): \(password)") }
        }

        static func readPassword() -> (String, generated: Bool) {
            if isatty(FileHandle.standardInput.fileDescriptor) == 0,
                let data = try? FileHandle.standardInput.readToEnd(),
                let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines), !text.isEmpty
            {
                return (text, false)
            }
            return (SecretFormat.randomPassword(), true)
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new admin API token once (only its hash is stored), or revoke one.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "The admin the token acts as.") var email: String?
        @Option(help: "A name for the token.") var name: String = "cli"
        @Option(help: "Revoke the token with this id.") var revoke: String?

        func validate() throws {
            if (email == nil) == (revoke == nil) { throw ValidationError("give either --email or --revoke ID") }
        }

        func run() async throws {
            let logger = logging.logger("portico.admin")
            if let revoke {
                guard let id = UUID(uuidString: revoke) else { throw CLI.fail(CLIFailure("'\(revoke)' is not a token id")) }
                try await CLI.withDatabase(database, logger: logger) { database in
                    try await AdminTokenService(store: AdminStore(database: database)).revoke(id, by: .cli)
                }
                print("revoked admin token \(id)")
            } else if let email {
                let name = self.name
                let issued = try await CLI.withDatabase(database, logger: logger) { database in
                    try await AdminTokenService(store: AdminStore(database: database)).issue(forEmail: email, name: name, by: .cli)
                }
                FileHandle.standardError.write(Data("admin token \(issued.id) for \(email) (shown once):\n".utf8))
                print(issued.key)
            }
        }
    }
}
