import OpenAPIKit

/// A `curl` command for an operation through the gateway: the path's parameters left as `{name}`, required query
/// and header parameters with placeholders, the example body, and the consumer's credential where the gateway
/// expects it (as a shell variable, never a real secret).
enum CurlLine {
    static func make(
        method: String, url: String, parameters: [OpenAPI.Parameter], body: DocumentView.Content?, credential: DocumentView.Credential
    ) -> String {
        var query: [String] = []
        var parts = ["curl"]
        if method != "GET" { parts.append("-X \(method)") }
        switch credential {
        case .header(let name, let value): parts.append("-H " + quoted("\(name): \(value)"))
        case .query(let name, let value): query.append("\(name)=\(value)")
        case .cookie(let name, let value): parts.append("-b " + quoted("\(name)=\(value)"))
        }
        for parameter in parameters where parameter.required {
            switch parameter.location {
            case .query: query.append("\(parameter.name)={\(parameter.name)}")
            case .header: parts.append("-H " + quoted("\(parameter.name): {\(parameter.name)}"))
            default: break
            }
        }
        if let body {
            parts.append("-H " + quoted("Content-Type: \(body.mediaType)"))
            parts.append("--data " + quoted(body.example.map(compact) ?? "{}"))
        }
        parts.append(quoted(url + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))))
        return parts.joined(separator: " ")
    }

    /// In single quotes for a POSIX shell, except that `$VARIABLE` placeholders stay outside them, in double quotes,
    /// so that the shell expands them: `'Authorization: Bearer '"$PORTICO_KEY"`.
    static func quoted(_ text: String) -> String {
        var segments: [String] = []
        var literal = ""
        func flush() {
            if !literal.isEmpty { segments.append("'" + literal.replacingOccurrences(of: "'", with: #"'\''"#) + "'") }
            literal = ""
        }
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            literal += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            let name = afterDollar.prefix { ($0.isASCII && $0.isUppercase) || $0 == "_" || ($0.isASCII && $0.isNumber) }
            if name.isEmpty {
                literal += "$"
                rest = afterDollar
            } else {
                flush()
                segments.append("\"$\(name)\"")
                rest = afterDollar[name.endIndex...]
            }
        }
        literal += rest
        flush()
        return segments.isEmpty ? "''" : segments.joined()
    }

    /// A pretty-printed example on one line, as `--data` takes it.
    private static func compact(_ text: String) -> String {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
