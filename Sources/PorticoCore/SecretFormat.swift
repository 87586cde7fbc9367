import Crypto
import Foundation

/// The format of Portico's secrets: API keys (`pk_…`), admin tokens (`pat_…`), session cookies, form tokens
/// and invitation links.
///
/// A secret is a recognisable type prefix followed by 32 random bytes (256 bits) in base64url. Only the
/// SHA-256 of the whole secret is stored; its first characters are kept as a public prefix so that people
/// and secret scanners can recognise a key without seeing it.
public struct SecretFormat: Sendable {
    public let typePrefix: String

    public static let apiKey = SecretFormat(typePrefix: "pk_")
    public static let adminToken = SecretFormat(typePrefix: "pat_")
    /// Dashboard and portal session cookies.
    public static let session = SecretFormat(typePrefix: "ps_")
    /// Per-session (or, before sign-in, per-browser) form tokens.
    public static let csrf = SecretFormat(typePrefix: "csrf_")
    /// Invitation links.
    public static let invitation = SecretFormat(typePrefix: "inv_")
    /// A browser's sign-in flows through identity providers (their state is bound to it).
    public static let signInFlow = SecretFormat(typePrefix: "psf_")

    public static let publicPrefixLength = 8

    /// A new random secret in this format, with its public prefix and hash.
    public func generate() -> GeneratedSecret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = typePrefix + Base64URL.encode(bytes)
        return GeneratedSecret(
            secret: secret,
            publicPrefix: String(secret.prefix(typePrefix.count + Self.publicPrefixLength)),
            hash: SecretHash(of: secret))
    }

    /// A random password for an account created without one (base64url, 6 bits per character).
    public static func randomPassword(length: Int = 24) -> String {
        String(SecretFormat(typePrefix: "").generate().secret.prefix(length))
    }

    /// Whether a presented credential has this format's shape (cheap check before hashing).
    public func matches(_ candidate: some StringProtocol) -> Bool {
        candidate.hasPrefix(typePrefix) && candidate.utf8.count == typePrefix.utf8.count + 43
    }
}

/// A new secret: shown once in full, stored only as its hash, recognised later by its public prefix.
public struct GeneratedSecret: Sendable {
    /// Shown once to its owner, never stored.
    public let secret: String
    public let publicPrefix: String
    public let hash: SecretHash
}

/// SHA-256 of a secret. Equality is checked in constant time, so even the lookup of a presented key's
/// hash among the stored ones does not reveal how many leading bytes matched. The digest is held as four
/// words in place: a snapshot of 100 000 keys holds no array per key, and a lookup allocates nothing.
public struct SecretHash: Sendable, Hashable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    public static func == (lhs: SecretHash, rhs: SecretHash) -> Bool {
        lhs.constantTimeEquals(rhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public init(of secret: some StringProtocol) {
        let digest =
            secret.utf8.withContiguousStorageIfAvailable { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(data: Array(secret.utf8))
        self.words = digest.withUnsafeBytes(Self.words(of:))
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA256.byteCount else { return nil }
        self.words = bytes.withUnsafeBytes(Self.words(of:))
    }

    private static func words(of digest: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
        (
            digest.loadUnaligned(fromByteOffset: 0, as: UInt64.self), digest.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            digest.loadUnaligned(fromByteOffset: 16, as: UInt64.self), digest.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// The 32 digest bytes, in order (as stored in the database).
    public var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0) }
    }

    public var hex: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }

    /// Parses the 64 hex digits `hex` gives (how the policy change log names a key).
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == SHA256.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(SHA256.byteCount)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.init(bytes: bytes)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The digest's first eight bytes: already evenly spread, so enough to pick a shard.
    var prefixWord: UInt64 { words.0 }

    /// Constant-time comparison: the time taken does not depend on where the digests differ.
    public func constantTimeEquals(_ other: SecretHash) -> Bool {
        let difference = (words.0 ^ other.words.0) | (words.1 ^ other.words.1) | (words.2 ^ other.words.2) | (words.3 ^ other.words.3)
        return difference == 0
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
