extension StringProtocol {
    /// Equal to `other` when ASCII letters are compared without case; no copy is made. For header names and auth
    /// schemes, read on every gateway request.
    @inlinable
    public func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        for (byte, expected) in zip(utf8, other.utf8) where byte != expected {
            // Only a letter folds: 0x0D | 0x20 is '-', and a CR is not a dash.
            let folded = byte | 0x20
            guard folded == expected | 0x20, folded >= UInt8(ascii: "a"), folded <= UInt8(ascii: "z") else { return false }
        }
        return true
    }

    /// Starts with `prefix` when ASCII letters are compared without case; no copy is made.
    @inlinable
    public func hasPrefixIgnoringASCIICase(_ prefix: String) -> Bool {
        guard utf8.count >= prefix.utf8.count else { return false }
        return utf8.prefix(prefix.utf8.count).elementsEqual(prefix.utf8) { byte, expected in
            let folded = byte | 0x20
            return byte == expected || (folded == expected | 0x20 && folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z"))
        }
    }
}
