import Ink

/// An OpenAPI description's CommonMark as HTML that is safe to put in a page: raw HTML in the source is shown as
/// text, and the HTML Ink produces passes an allow-list (text-level and block tags without attributes, links whose
/// target is http(s), mailto or on the same site; images become their alt text).
public enum SafeMarkdown {
    public static func html(_ markdown: String) -> String {
        let parser = MarkdownParser(modifiers: [Modifier(target: .html) { input in escape(String(input.markdown)) }])
        return sanitize(parser.html(from: markdown))
    }

    static let allowedTags: Set<Substring> = [
        "p", "em", "strong", "code", "pre", "ul", "ol", "li", "a", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br",
        "table", "thead", "tbody", "tr", "th", "td", "del", "s",
    ]

    /// Keeps the allowed tags (without their attributes, but a link's checked `href`), escapes anything else.
    static func sanitize(_ html: String) -> String {
        var output = ""
        output.reserveCapacity(html.utf8.count)
        var rest = html[...]
        while let open = rest.firstIndex(of: "<") {
            output += escapeText(rest[..<open])
            guard let close = rest[open...].firstIndex(of: ">") else {
                rest = rest[open...]
                break
            }
            output += tag(rest[rest.index(after: open)..<close])
            rest = rest[rest.index(after: close)...]
        }
        output += escapeText(rest)
        return output
    }

    /// One tag's text between `<` and `>`, as the page gets it.
    private static func tag(_ inner: Substring) -> String {
        var body = inner
        let closing = body.first == "/"
        if closing { body = body.dropFirst() }
        if body.last == "/" { body = body.dropLast() }
        let name = body.prefix { $0.isLetter || $0.isNumber }
        let lowered = Substring(name.lowercased())
        if lowered == "img", !closing { return altText(of: body) }
        guard !name.isEmpty, allowedTags.contains(lowered) else { return escape("<" + String(inner) + ">") }
        if closing { return "</\(lowered)>" }
        if lowered == "a" {
            guard let href = attribute("href", in: body), let target = safeTarget(href) else { return "<a>" }
            return "<a href=\"\(target)\" rel=\"nofollow noopener noreferrer\">"
        }
        return "<\(lowered)>"
    }

    private static func attribute(_ name: String, in body: Substring) -> Substring? {
        guard let start = body.range(of: " \(name)=\"") else { return nil }
        let value = body[start.upperBound...]
        guard let end = value.firstIndex(of: "\"") else { return nil }
        return value[..<end]
    }

    /// A link target that cannot run script or break out of its attribute: http(s), mailto, a fragment or a path.
    static func safeTarget(_ raw: Substring) -> String? {
        guard !raw.isEmpty,
            !raw.contains(where: { $0 == "\"" || $0 == "<" || $0 == ">" || $0 == "'" || $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true })
        else { return nil }
        let lowered = raw.lowercased()
        let allowed =
            lowered.hasPrefix("https://") || lowered.hasPrefix("http://") || lowered.hasPrefix("mailto:") || raw.hasPrefix("#")
            || (raw.hasPrefix("/") && !raw.hasPrefix("//"))
        return allowed ? escape(String(raw)) : nil
    }

    private static func altText(of body: Substring) -> String {
        attribute("alt", in: body).map { escapeText($0) } ?? ""
    }

    /// Text between tags: Ink has escaped `<` and `&` already (an `&` stays, as it starts an entity); quotes and `>`
    /// are escaped here as well.
    private static func escapeText(_ text: Substring) -> String {
        var output = ""
        for character in text {
            switch character {
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            default: output.append(character)
            }
        }
        return output
    }

    static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "&": output += "&amp;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
        return output
    }
}
