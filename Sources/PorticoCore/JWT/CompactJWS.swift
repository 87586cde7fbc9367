import Foundation

/// A token in JWS compact form split into its parts, with the header decoded. Nothing here is trusted until
/// the signature over `signingInput` has been verified with a configured key.
public struct CompactJWS: Sendable {
    /// The JOSE header fields Portico reads before verifying (RFC 7515 §4).
    public struct Header: Decodable, Sendable {
        public let alg: String?
        public let kid: String?
        public let crit: [String]?
    }

    public let header: Header
    public let signingInput: ArraySlice<UInt8>
    public let signature: [UInt8]
    private let encodedPayload: ArraySlice<UInt8>

    public init(_ token: some StringProtocol) throws(TokenRejection) {
        let bytes = Array(token.utf8)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { throw .malformed("the token does not have three dot-separated parts") }
        let headerPart = bytes[..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        guard let headerJSON = Base64URL.decode(headerPart), let signature = Base64URL.decode(bytes[(dots[1] + 1)...]) else {
            throw .malformed("the token is not valid base64url")
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerJSON)) else {
            throw .malformed("the token's header is not a JSON object")
        }
        self.header = header
        self.signingInput = bytes[..<dots[1]]
        self.signature = signature
        self.encodedPayload = payloadPart
    }

    /// The payload's claims; call only after the signature has been verified.
    public func claims() throws(TokenRejection) -> [String: JSONValue] {
        guard let json = Base64URL.decode(encodedPayload) else { throw .malformed("the token's payload is not valid base64url") }
        guard let claims = try? JSONDecoder().decode([String: JSONValue].self, from: Data(json)) else {
            throw .malformed("the token's payload is not a JSON object")
        }
        return claims
    }

    /// The `iss` claim read before verification, only to choose where to fetch keys from (among trusted issuers).
    public func unverifiedIssuer() -> String? {
        guard case .string(let issuer)? = try? claims()["iss"] else { return nil }
        return issuer
    }
}

/// Why a token was not accepted; the text goes into `WWW-Authenticate`'s `error_description`.
public enum TokenRejection: Error, Sendable, Equatable {
    case malformed(String)
    case invalid(String)

    public var reason: String {
        switch self {
        case .malformed(let reason), .invalid(let reason): reason
        }
    }
}

/// Base64url without padding (RFC 4648 §5), as JOSE encodes every part of a token.
public enum Base64URL {
    /// Decodes unpadded (or padded) base64url; nil for any other character.
    public static func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var text = [UInt8]()
        text.reserveCapacity(bytes.count + 3)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "-"): text.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): text.append(UInt8(ascii: "/"))
            case UInt8(ascii: "="): continue
            default: text.append(byte)
            }
        }
        if text.count % 4 == 1 { return nil }
        while text.count % 4 != 0 { text.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(text)).map(Array.init)
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
