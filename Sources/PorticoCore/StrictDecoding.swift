/// Refuses fields a settings object does not have, so a typo is a 422 naming it rather than an option silently
/// ignored.
public enum StrictDecoding {
    /// Throws `invalid` naming the first field of `decoder`'s object that is not in `known` (prefixed with `prefix`).
    public static func rejectUnknownFields(in decoder: any Decoder, known: some Sequence<String>, prefix: String = "", reason: String) throws {
        let known = Set(known)
        let given = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = given.first(where: { !known.contains($0) }) {
            throw PorticoError.invalid(field: prefix + unknown, reason: reason)
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
