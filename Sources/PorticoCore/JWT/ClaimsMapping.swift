import Crypto
import Foundation

/// Which claims make a portal user out of a verified token. Each value is a claim path (see `ClaimPath`).
public struct ClaimsMapping: Codable, Sendable, Equatable {
    public var groups: String
    public var userId: String
    public var email: String?
    public var tokenName: String?

    public init(groups: String = "groups", userId: String = "sub", email: String? = "email", tokenName: String? = "azp") {
        self.groups = groups
        self.userId = userId
        self.email = email
        self.tokenName = tokenName
    }

    public static let standard = ClaimsMapping()

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        groups = try container.decodeIfPresent(String.self, forKey: .groups) ?? "groups"
        userId = try container.decodeIfPresent(String.self, forKey: .userId) ?? "sub"
        email = container.contains(.email) ? try container.decodeIfPresent(String.self, forKey: .email) : "email"
        tokenName = container.contains(.tokenName) ? try container.decodeIfPresent(String.self, forKey: .tokenName) : "azp"
    }

    /// Parses every path; a bad one is an error naming its field.
    public func compiled() throws(PorticoError) -> CompiledClaimsMapping {
        func path(_ text: String, field: String) throws(PorticoError) -> ClaimPath {
            do { return try ClaimPath(text) } catch { throw PorticoError.invalid(field: "claimsMapping.\(field)", reason: error.reason) }
        }
        func optionalPath(_ text: String?, field: String) throws(PorticoError) -> ClaimPath? {
            guard let text, !text.isEmpty else { return nil }
            return try path(text, field: field)
        }
        return CompiledClaimsMapping(
            groups: try path(groups, field: "groups"), userId: try path(userId, field: "userId"),
            email: try optionalPath(email, field: "email"), tokenName: try optionalPath(tokenName, field: "tokenName"))
    }
}

/// The claims mapping with every path parsed: what the gateway reads from a verified token.
public struct CompiledClaimsMapping: Sendable, Hashable {
    public let groups: ClaimPath
    public let userId: ClaimPath
    public let email: ClaimPath?
    public let tokenName: ClaimPath?

    /// The portal user a verified token stands for: its user id, email, token name and groups, read through the
    /// mapping.
    public func principal(from claims: [String: JSONValue]) -> PrincipalMapping {
        guard let userId = userId.value(in: claims)?.scalarText, !userId.isEmpty else {
            return .noUserId(claim: userId.description)
        }
        return .mapped(
            JWTPrincipal(
                userId: userId,
                email: email?.value(in: claims)?.scalarText,
                tokenName: tokenName?.value(in: claims)?.scalarText,
                groups: Self.groupNames(groups.value(in: claims))))
    }

    /// An array of names, or one string of names separated by spaces or commas.
    static func groupNames(_ value: JSONValue?) -> [String] {
        switch value {
        case .array(let elements)?:
            return elements.compactMap(\.scalarText).filter { !$0.isEmpty }
        case .string(let text)?:
            return text.split(whereSeparator: { $0 == " " || $0 == "," || $0.isNewline || $0 == "\t" }).map(String.init)
        default:
            return []
        }
    }
}

/// A token's principal, or the claim whose absence keeps it from having one.
public enum PrincipalMapping: Sendable, Equatable {
    case mapped(JWTPrincipal)
    case noUserId(claim: String)
}

/// The consumer behind a verified token.
public struct JWTPrincipal: Sendable, Hashable {
    public let userId: String
    public let email: String?
    public let tokenName: String?
    public let groups: [String]

    public init(userId: String, email: String?, tokenName: String?, groups: [String]) {
        self.userId = userId
        self.email = email
        self.tokenName = tokenName
        self.groups = groups
    }

    /// A stable consumer id for rate limiting, derived from the external user id (JWT users have no portal
    /// row until their first sighting is written, and the limiter must not wait for that).
    public var consumerId: UUID { Self.consumerId(for: "jwt:" + userId) }

    static func consumerId(for text: String) -> UUID {
        // Runs for every token request: the digest is read in place, with no Data or Array made for it.
        var text = text
        let digest = text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { bytes in
            UUID(
                uuid: (
                    bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                    bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
                ))
        }
    }

    /// The consumer id an anonymous caller from `address` is limited under.
    public static func anonymousConsumerId(address: String) -> UUID { consumerId(for: "anonymous:" + address) }
}
