import Foundation
import PorticoCore

/// Turns a secret reference into the secret: reads the environment or a file, or decrypts a stored value.
public struct SecretResolver: Sendable {
    let box: SecretBox?
    let environment: @Sendable (String) -> String?

    public init(box: SecretBox?, environment: @escaping @Sendable (String) -> String? = { ProcessInfo.processInfo.environment[$0] }) {
        self.box = box
        self.environment = environment
    }

    /// The secret `reference` points at: an environment variable, a file's contents, or a value sealed with the box.
    public func resolve(_ reference: SecretReference) throws(PorticoError) -> String {
        switch reference {
        case .environment(let name):
            guard let value = environment(name), !value.isEmpty else {
                throw PorticoError.invalid(field: "jwt.signingSecret", reason: "the environment variable \(name) is not set")
            }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PorticoError.invalid(field: "jwt.signingSecret", reason: "the file \(path) cannot be read")
            }
            // A trailing newline is the editor's, not the secret's.
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        case .encrypted(let sealed):
            guard let box else {
                throw PorticoError.unavailable("a stored signing secret needs PORTICO_SECRET_KEY to be decrypted")
            }
            return try box.open(sealed)
        }
    }

    /// The HMAC key bytes of a signing secret, base64-decoded first when the settings say so.
    public func signingKey(_ reference: SecretReference, base64Encoded: Bool) throws(PorticoError) -> [UInt8] {
        let secret = try resolve(reference)
        guard base64Encoded else { return Array(secret.utf8) }
        guard
            let bytes = Data(base64Encoded: secret.trimmingCharacters(in: .whitespaces))
                ?? Base64URL.decode(Array(secret.trimmingCharacters(in: CharacterSet(charactersIn: "= ")).utf8)).map({ Data($0) })
        else {
            throw PorticoError.invalid(field: "jwt.signingSecret", reason: "signingSecretBase64Encoded is set but the secret is not base64")
        }
        return Array(bytes)
    }
}
