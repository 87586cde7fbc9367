/// The inside of a header field's quoted string, as both RFC 7235 (`WWW-Authenticate` parameters) and RFC 9651
/// (structured-field strings) allow it: `"` and `\` escaped, and anything but printable ASCII replaced by `?`,
/// which also keeps a value from starting a header line of its own.
public enum QuotedString {
    public static func escaped(_ text: String) -> String {
        var quoted = ""
        quoted.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22, 0x5C:
                quoted.unicodeScalars.append("\\")
                quoted.unicodeScalars.append(scalar)
            case 0x20...0x7E: quoted.unicodeScalars.append(scalar)
            default: quoted.unicodeScalars.append("?")
            }
        }
        return quoted
    }
}
