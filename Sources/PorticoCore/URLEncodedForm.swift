import Foundation

/// `application/x-www-form-urlencoded` text, as in query strings and form bodies.
public enum URLEncodedForm {
    /// Every name and value, decoded (`+` is a space), in order; a name may repeat.
    public static func pairs(in text: some StringProtocol) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of `name`.
    public static func value(of name: String, in text: some StringProtocol) -> String? {
        pairs(in: text).first { $0.name == name }?.value
    }

    /// `text` without any pair named `name`, other pairs byte for byte as they were; nil when nothing is left.
    public static func removing(_ name: String, from text: some StringProtocol) -> String? {
        let kept = text.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            decode(pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) != name
        }
        return kept.isEmpty ? nil : kept.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, so a value is safe in a query or a form body.
    public static func encode(_ text: some StringProtocol) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// A body of these pairs, each name and value encoded.
    public static func body(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// `url` with these pairs added to its query (a query it has already is kept).
    public static func appending(_ pairs: [(String, String)], to url: String) -> String {
        url + (url.contains("?") ? "&" : "?") + body(pairs)
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func decode(_ text: some StringProtocol) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// The `Cookie` request header.
public enum CookieHeader {
    /// The value of cookie `name` in any of these `Cookie` headers, with surrounding quotes removed.
    public static func value(of name: String, in headers: some Sequence<String>) -> String? {
        for header in headers {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
                var value = parts[1].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                return value
            }
        }
        return nil
    }
}
