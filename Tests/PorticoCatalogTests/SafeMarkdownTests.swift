import Testing

@testable import PorticoCatalog

/// Descriptions are CommonMark from whoever wrote the API's document: rendered, but never able to bring HTML, script
/// or a dangerous link into the portal's page.
@Suite struct SafeMarkdownTests {
    @Test func commonMarkBecomesHTML() {
        let html = SafeMarkdown.html(
            "Returns **one** pet, by *id*, as `Pet <JSON>`.\n\n- first\n- second\n\nSee [the guide](https://example.com/guide?a=1&b=2).")
        #expect(html.contains("<strong>one</strong>"))
        #expect(html.contains("<em>id</em>"))
        #expect(html.contains("<code>Pet &lt;JSON&gt;</code>"))
        #expect(html.contains("<ul><li>first</li><li>second</li></ul>"))
        #expect(html.contains(#"<a href="https://example.com/guide?a=1&amp;b=2" rel="nofollow noopener noreferrer">the guide</a>"#))
    }

    @Test func aFencedBlockKeepsItsTextEscapedAndLosesItsLanguageClass() {
        let html = SafeMarkdown.html("```json\" onclick=\"steal()\n{\"a\": \"<b>\"}\n```")
        #expect(html.contains("<pre><code>"))
        #expect(!html.contains("onclick"))
        #expect(html.contains("&lt;b&gt;"))
    }

    static let hostile = [
        "<script>alert(1)</script>",
        "Hello <b onmouseover=\"x()\">bold</b> world",
        "<img src=x onerror=alert(1)>",
        "<div style=\"position:fixed\">cover</div>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](x\" onmouseover=\"alert(1))",
        "[click](//evil.example/path)",
        "![pixel](https://evil.example/track.png)",
        "<iframe src=\"https://evil.example\"></iframe>",
        "a <a href=\"javascript:x\">link</a> inline",
        "<svg><script>alert(1)</script></svg>",
        "<!-- comment --> after",
        "[ref]\n\n[ref]: javascript:alert(1)",
        "<style>body{display:none}</style>",
        "text with ' and \" and > and < and &amp;",
    ]

    @Test(arguments: hostile)
    func nothingHostilePasses(_ markdown: String) {
        let html = SafeMarkdown.html(markdown)
        let lowered = html.lowercased()
        for forbidden in [
            "<script", "<img", "<iframe", "<svg", "<div", "<style", "<b ", "<b>", "javascript:", "data:", " on", "style=", "src=", "href=\"//",
        ] {
            #expect(!lowered.contains(forbidden) || !Self.insideTag(forbidden, in: lowered), "\(forbidden) in \(html)")
        }
        // Every tag left is an allowed one.
        var rest = lowered[...]
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            let name = after.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }
            #expect(SafeMarkdown.allowedTags.contains(name), "<\(name) in \(html)")
            rest = after
        }
    }

    /// Whether `text` occurs inside a tag (between `<` and `>`) rather than as escaped text.
    static func insideTag(_ text: String, in html: String) -> Bool {
        var rest = html[...]
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            if rest[open...close].contains(text) { return true }
            rest = rest[rest.index(after: close)...]
        }
        return text.hasPrefix("<") && html.contains(text)
    }

    @Test func rawHTMLIsShownAsText() {
        #expect(SafeMarkdown.html("Use <b>bold</b> here").contains("&lt;b&gt;bold&lt;/b&gt;"))
        #expect(SafeMarkdown.html("![a diagram](https://example.com/d.png)").contains("a diagram"))
    }

    @Test(arguments: [
        ("https://example.com", true), ("http://example.com/a", true), ("mailto:api@example.com", true), ("#pets", true), ("/docs", true),
        ("//evil.example", false), ("javascript:x", false), ("data:x", false), ("vbscript:x", false), ("https://a.example/\"x", false),
        ("relative/path", false),
    ])
    func linkTargets(target: String, allowed: Bool) {
        #expect((SafeMarkdown.safeTarget(target[...]) != nil) == allowed)
    }
}
