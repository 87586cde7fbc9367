import ArgumentParser
import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore

struct SecretKeyOptions: ParsableArguments {
    @Option(name: .customLong("secret-key-file"), help: "File holding PORTICO_SECRET_KEY (32 bytes, base64), which seals literal JWT secrets.")
    var secretKeyFile: String?

    /// The configured box, nil when no key is configured; a key that is not 32 bytes of base64 is an error.
    func box() throws -> SecretBox? {
        let text: String
        if let secretKeyFile {
            guard let data = FileManager.default.contents(atPath: secretKeyFile) else {
                throw CLI.fail(CLIFailure("the secret key file \(secretKeyFile) cannot be read"))
            }
            text = String(decoding: data, as: UTF8.self)
        } else if let value = ProcessInfo.processInfo.environment["PORTICO_SECRET_KEY"], !value.isEmpty {
            text = value
        } else {
            return nil
        }
        guard let box = SecretBox(base64: text) else {
            throw CLI.fail(CLIFailure("PORTICO_SECRET_KEY must be 32 bytes in base64; `portico secret-key` makes one"))
        }
        return box
    }
}

struct SecretKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-key", abstract: "Print a new random PORTICO_SECRET_KEY (seals JWT signing secrets stored as literals).")

    func run() {
        print(SecretBox.generateKeyBase64())
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Mint JWTs for tests and demos.", subcommands: [Sign.self])

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a token with the configured signingSecret; claims are placed where the claims mapping reads them.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @OptionGroup var secretKey: SecretKeyOptions
        @Option(help: "The user id claim's value.") var sub: String
        @Option(help: "Comma-separated group names.") var groups: String = ""
        @Option var email: String?
        @Option(help: "Lifetime such as 30m, 12h or 7d.") var exp: String = "30m"
        @Option(help: "Extra claim as path=value (repeatable); a JSON value (number, true, [..], {..}) is kept as JSON.")
        var claim: [String] = []

        func run() async throws {
            let lifetime: Int
            do {
                lifetime = try RateLimit.parsePeriod(exp)
            } catch {
                throw CLI.fail(CLIFailure("--exp: '\(exp)' is not a lifetime; use 30m, 12h, 7d or a number of seconds"))
            }
            let extra = try claim.map(Self.parseClaim)
            let box = try secretKey.box()
            let stored = try await CLI.withDatabase(database, logger: logging.logger("portico.token")) { database in
                try await database.read { try await AuthSettingsRepository(logger: database.logger).load(on: $0) }
            }
            do {
                let compiled = try stored.settings.compiled()
                guard let config = compiled.jwt, case .signingSecret(let reference, let base64Encoded)? = config.keySource else {
                    throw CLIFailure(
                        "token sign needs a signingSecret key source; the configured JWT settings verify with a public key or JWKS, whose private key Portico never holds"
                    )
                }
                let secret = try SecretResolver(box: box).signingKey(reference, base64Encoded: base64Encoded)
                let algorithm = config.algorithms.first { $0.family == .hmac } ?? .hs256
                let claims = TokenMinter.claims(
                    subject: sub, groups: groups.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                    email: email, lifetimeSeconds: lifetime, extra: extra, mapping: compiled.mapping, rules: config.rules)
                print(try await TokenMinter.sign(claims, secret: secret, algorithm: algorithm))
            } catch let error as ExitCode {
                throw error
            } catch {
                throw CLI.fail(error)
            }
        }

        static func parseClaim(_ text: String) throws -> (path: ClaimPath, value: JSONValue) {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw CLI.fail(CLIFailure("--claim takes path=value, got '\(text)'")) }
            let path: ClaimPath
            do { path = try ClaimPath(String(parts[0])) } catch { throw CLI.fail(CLIFailure("--claim: \(error.reason)")) }
            let raw = String(parts[1])
            let looksLikeJSON = raw == "true" || raw == "false" || raw.first.map { "[{0123456789-".contains($0) } == true
            if looksLikeJSON, let value = try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8)) { return (path, value) }
            return (path, .string(raw))
        }
    }
}
