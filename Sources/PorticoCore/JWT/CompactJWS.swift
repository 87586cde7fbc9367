import Foundation

/// A token in JWS compact form split into its parts, with the header decoded. Nothing here is trusted until
/// the signature over `signingInput` has been verified with a configured key. Every part must be canonical
/// base64url and every JSON text strict (`StrictJSON`): what is checked is exactly what was signed.
public struct CompactJWS: Sendable {
    /// The JOSE header fields Portico reads before verifying (RFC 7515 §4).
    public struct Header: Sendable {
        public let alg: String?
        public let kid: String?
        /// Header parameters the signer marked as critical (RFC 7515 §4.1.11); Portico understands none.
        public let crit: [String]?
    }

    public let header: Header
    public let signingInput: ArraySlice<UInt8>
    public let signature: [UInt8]
    /// The payload exactly as signed; trust it only after the signature has been verified.
    public let payload: [UInt8]

    public init(_ token: some StringProtocol) throws(TokenRejection) {
        let bytes = Array(token.utf8)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { throw .malformed("the token does not have three dot-separated parts") }
        let headerPart = bytes[..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        guard let headerJSON = Base64URL.decode(headerPart), let payload = Base64URL.decode(payloadPart),
            let signature = Base64URL.decode(bytes[(dots[1] + 1)...])
        else {
            throw .malformed("the token is not valid base64url")
        }
        let fields: [String: JSONValue]
        do { fields = try StrictJSON.object(headerJSON) } catch { throw .malformed("the token's header is not valid JSON: \(error)") }
        self.header = try Self.header(fields)
        self.signingInput = bytes[..<dots[1]]
        self.signature = signature
        self.payload = payload
    }

    private static func header(_ fields: [String: JSONValue]) throws(TokenRejection) -> Header {
        func text(_ name: String) throws(TokenRejection) -> String? {
            switch fields[name] {
            case nil: return nil
            case .string(let value)?: return value
            case _?: throw .malformed("the token's header parameter \(name) is not a string")
            }
        }
        var critical: [String]?
        if let crit = fields["crit"] {
            guard case .array(let names) = crit, !names.isEmpty, names.allSatisfy({ $0.string != nil }) else {
                throw .malformed("the token's crit header is not a non-empty list of names")
            }
            critical = names.compactMap(\.string)
        }
        return Header(alg: try text("alg"), kid: try text("kid"), crit: critical)
    }

    /// The payload's claims; call only after the signature has been verified.
    public func claims() throws(TokenRejection) -> [String: JSONValue] {
        do { return try StrictJSON.object(payload) } catch { throw .malformed("the token's payload is not a valid JSON object: \(error)") }
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

/// Base64url without padding (RFC 4648 §5, RFC 7515 §2), as JOSE encodes every part of a token.
public enum Base64URL {
    /// Decodes canonical unpadded base64url: only the 64 letters of its alphabet, no `=`, and the unused bits
    /// of the last letter zero, so that exactly one text stands for given bytes. nil for anything else.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for letter in text {
            guard let value = sextet(letter) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return accumulator == 0 ? bytes : nil
    }

    private static func sextet(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): letter - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): letter - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): letter - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
