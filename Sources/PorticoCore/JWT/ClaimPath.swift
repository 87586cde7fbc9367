/// A claim name or a dotted path into nested objects (`realm_access.roles`). A literal dot inside a key is
/// written `\.`, a literal backslash `\\`.
public struct ClaimPath: Sendable, Hashable, CustomStringConvertible {
    public let segments: [String]
    public let description: String

    /// Why a claim path was refused.
    public struct Invalid: Error, Sendable {
        public let reason: String
    }

    public init(_ text: String) throws(ClaimPath.Invalid) {
        var segments: [String] = []
        var current = ""
        var escaping = false
        for character in text {
            if escaping {
                guard character == "." || character == "\\" else {
                    throw Invalid(reason: "claim path '\(text)': only \\. and \\\\ may be escaped")
                }
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "." {
                segments.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !escaping else { throw Invalid(reason: "claim path '\(text)' ends in a lone backslash") }
        segments.append(current)
        guard !segments.contains(where: \.isEmpty) else {
            throw Invalid(reason: "claim path '\(text)' has an empty segment")
        }
        self.segments = segments
        self.description = text
    }

    /// The value at this path, or nil when a segment is missing or what it points into is not an object.
    public func value(in claims: [String: JSONValue]) -> JSONValue? {
        var object = claims
        for segment in segments.dropLast() {
            guard case .object(let nested)? = object[segment] else { return nil }
            object = nested
        }
        guard let last = segments.last else { return nil }
        return object[last]
    }
}
