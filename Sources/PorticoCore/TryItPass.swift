import Crypto
import Foundation

/// What the portal's try-it console vouches for when it sends a call through its own gateway: this consumer, in
/// these groups, calls this API, until `expiresAt`. The gateway admits the call as that consumer, so grants, plans,
/// limits and usage records apply as they do to the consumer's own calls.
public struct TryItPass: Sendable, Equatable {
    public let userId: UUID
    /// Who the limits and usage records count the call for: the user in API-key mode, the token user in JWT mode.
    public let consumerId: UUID
    /// Sent upstream as `X-Portico-User`: the token user id in JWT mode, else the user id.
    public let caller: String
    public let apiId: UUID
    public let groups: [String]
    /// Seconds since 1970.
    public let expiresAt: Int64

    public init(userId: UUID, consumerId: UUID, caller: String, apiId: UUID, groups: [String], expiresAt: Int64) {
        self.userId = userId
        self.consumerId = consumerId
        self.caller = caller
        self.apiId = apiId
        self.groups = groups
        self.expiresAt = expiresAt
    }

    /// How long a pass the portal signs stays good: one call's round trip, with room for a slow upstream.
    public static let lifetimeSeconds: Int64 = 60
}

/// Why the gateway refused a try-it pass.
public enum TryItPassRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed
    case badSignature
    case expired
    /// Good for longer than any pass the portal signs: not one of its own.
    case tooLong

    public var description: String {
        switch self {
        case .malformed: "the try-it pass is malformed"
        case .badSignature: "the try-it pass is not signed by this gateway's portal"
        case .expired: "the try-it pass has expired"
        case .tooLong: "the try-it pass is good for longer than the portal ever signs one"
        }
    }
}

/// Signs and checks try-it passes with a key that only one `portico serve` process holds, in memory: its portal
/// signs, its gateway checks, and no other gateway accepts them. The text is
/// `v1.<user>.<consumer>.<api>.<expiresAt>.<caller b64url>.<groups b64url>.<HMAC-SHA256 b64url>`.
public struct TryItPassSigner: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// A signer with a fresh random key, for one process.
    public static func random() -> TryItPassSigner { TryItPassSigner(key: SymmetricKey(size: .bits256)) }

    public func sign(_ pass: TryItPass) -> String {
        let groups = (try? JSONEncoder().encode(pass.groups)) ?? Data("[]".utf8)
        let body = [
            "v1", pass.userId.uuidString.lowercased(), pass.consumerId.uuidString.lowercased(), pass.apiId.uuidString.lowercased(),
            String(pass.expiresAt), Base64URL.encode(Array(pass.caller.utf8)), Base64URL.encode(Array(groups)),
        ].joined(separator: ".")
        return body + "." + Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)))
    }

    /// The pass `text` stands for, if this signer signed it and it is good at `now` (seconds since 1970).
    public func verify(_ text: some StringProtocol, now: Int64) -> Result<TryItPass, TryItPassRefusal> {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 8, parts[0] == "v1", let mac = Base64URL.decode(parts[7].utf8) else { return .failure(.malformed) }
        let body = text[text.startIndex..<parts[7].startIndex].dropLast()
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(body.utf8), using: key) else { return .failure(.badSignature) }
        guard let userId = UUID(uuidString: String(parts[1])), let consumerId = UUID(uuidString: String(parts[2])),
            let apiId = UUID(uuidString: String(parts[3])), let expiresAt = Int64(parts[4]),
            let caller = Base64URL.decode(parts[5].utf8).flatMap({ String(bytes: $0, encoding: .utf8) }),
            let groupsJSON = Base64URL.decode(parts[6].utf8), let groups = try? JSONDecoder().decode([String].self, from: Data(groupsJSON))
        else { return .failure(.malformed) }
        guard expiresAt > now else { return .failure(.expired) }
        guard expiresAt <= now + TryItPass.lifetimeSeconds else { return .failure(.tooLong) }
        return .success(TryItPass(userId: userId, consumerId: consumerId, caller: caller, apiId: apiId, groups: groups, expiresAt: expiresAt))
    }
}
