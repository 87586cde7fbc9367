/// The JWS algorithms Portico accepts. `none` is not among them and never will be.
public enum JWTAlgorithmName: String, Sendable, Hashable, CaseIterable, Codable {
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"
    case eddsa = "EdDSA"

    /// The kind of key an algorithm needs.
    public enum Family: Sendable, Hashable {
        case hmac, rsa, ecdsa, eddsa
    }

    public var family: Family {
        switch self {
        case .hs256, .hs384, .hs512: .hmac
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: .rsa
        case .es256, .es384, .es512: .ecdsa
        case .eddsa: .eddsa
        }
    }

    /// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
    public var minimumHMACKeyBytes: Int {
        switch self {
        case .hs384: 48
        case .hs512: 64
        default: 32
        }
    }

    public static let hmac: [JWTAlgorithmName] = allCases.filter { $0.family == .hmac }
    public static let asymmetric: [JWTAlgorithmName] = allCases.filter { $0.family != .hmac }
}
