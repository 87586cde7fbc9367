extension StringProtocol {
    /// Equal to `lowercase` (which must be lowercase ASCII) when ASCII letters are compared without case; no copy
    /// is made. For header names and auth schemes, read on every gateway request.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        guard utf8.count == lowercase.utf8.count else { return false }
        for (byte, expected) in zip(utf8, lowercase.utf8) where byte != expected {
            // Only a letter folds: 0x0D | 0x20 is '-', and a CR is not a dash.
            guard expected >= UInt8(ascii: "a"), expected <= UInt8(ascii: "z"), byte | 0x20 == expected else { return false }
        }
        return true
    }
}
