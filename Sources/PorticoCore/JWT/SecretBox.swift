import Crypto
import Foundation

/// Encrypts secrets given as literals (a JWT signing secret) before they are stored, with the key the operator
/// gives in `PORTICO_SECRET_KEY` (32 random bytes, base64). ChaCha20-Poly1305 from swift-crypto.
public struct SecretBox: Sendable, NamedByType {
    private let key: SymmetricKey

    public static let storedPrefix = "encrypted:"

    public init(key: SymmetricKey) { self.key = key }

    /// nil when `base64` is not 32 bytes of base64.
    public init?(base64 text: String) {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else { return nil }
        self.key = SymmetricKey(data: bytes)
    }

    /// A new random key, as `PORTICO_SECRET_KEY` holds it (`portico secret-key`).
    public static func generateKeyBase64() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Encrypts `secret` (ChaChaPoly) into the form stored in the database.
    public func seal(_ secret: String) throws -> String {
        let box = try ChaChaPoly.seal(Data(secret.utf8), using: key)
        return Self.storedPrefix + box.combined.base64EncodedString()
    }

    /// The secret that `seal` stored; a value not sealed with this key is an error.
    public func open(_ stored: String) throws(PorticoError) -> String {
        guard stored.hasPrefix(Self.storedPrefix), let combined = Data(base64Encoded: String(stored.dropFirst(Self.storedPrefix.count))) else {
            throw PorticoError.malformed("the stored secret is not in the encrypted form")
        }
        do {
            let plain = try ChaChaPoly.open(try ChaChaPoly.SealedBox(combined: combined), using: key)
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw PorticoError.unavailable("the stored secret cannot be decrypted with this PORTICO_SECRET_KEY")
        }
    }
}

/// A secret as settings hold it: a reference to the environment or a file, or a value stored encrypted.
public enum SecretReference: Sendable, Hashable {
    case environment(String)
    case file(String)
    case encrypted(String)

    /// Parses a stored value; a literal (anything else) is nil and must be sealed before storing.
    public init?(stored text: String) {
        if text.hasPrefix("env:") {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else if text.hasPrefix(SecretBox.storedPrefix) {
            self = .encrypted(text)
        } else {
            return nil
        }
    }

    /// The reference a stored value holds, checked: a literal (not sealed yet), `env:` without a name and a relative
    /// `file:` path are errors on `field`.
    public static func checked(_ text: String, field: String) throws(PorticoError) -> SecretReference {
        guard let reference = SecretReference(stored: text) else {
            throw PorticoError.invalid(field: field, reason: "must be sealed before it is stored")
        }
        switch reference {
        case .environment(let name) where name.isEmpty: throw PorticoError.invalid(field: field, reason: "env: needs a variable name")
        case .file(let path) where !path.hasPrefix("/"): throw PorticoError.invalid(field: field, reason: "file: needs an absolute path")
        default: return reference
        }
    }

    public var stored: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        case .encrypted(let sealed): sealed
        }
    }

    /// What a settings read shows: references as they are, an encrypted value only as "set".
    public var shown: String {
        if case .encrypted = self { return "set" }
        return stored
    }
}
