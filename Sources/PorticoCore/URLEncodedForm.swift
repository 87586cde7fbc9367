import Foundation

/// `application/x-www-form-urlencoded` text, as in query strings and form bodies.
public enum URLEncodedForm {
    /// The first value of `name`, decoded (`+` is a space).
    public static func value(of name: String, in text: some StringProtocol) -> String? {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if decode(parts[0]) == name { return parts.count > 1 ? decode(parts[1]) : "" }
        }
        return nil
    }

    /// `text` without any pair named `name`, other pairs byte for byte as they were; nil when nothing is left.
    public static func removing(_ name: String, from text: some StringProtocol) -> String? {
        let kept = text.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            decode(pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) != name
        }
        return kept.isEmpty ? nil : kept.joined(separator: "&")
    }

    public static func decode(_ text: some StringProtocol) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// The `Cookie` request header.
public enum CookieHeader {
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
