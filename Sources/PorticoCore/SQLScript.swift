/// Splits a SQL file into statements. PostgreSQL's extended protocol (which postgres-nio speaks) runs one
/// statement per query, so a migration file is sent statement by statement inside one transaction.
/// Understands `--` and nested `/* */` comments, single- and double-quoted text, and dollar quoting
/// (`$$ … $$`, `$tag$ … $tag$`), so semicolons inside functions and strings do not split.
public enum SQLScript {
    /// The script's statements, in order.
    public static func statements(in script: String) -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let text = String(current).trimmingSpaces()
            if !text.isEmpty { statements.append(text) }
            current = String.UnicodeScalarView()
        }

        while index < chars.count {
            let char = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            switch char {
            case "-" where next == "-":
                while index < chars.count, chars[index] != "\n" { index += 1 }
                continue
            case "/" where next == "*":
                var depth = 0
                repeat {
                    if chars[index] == "/", index + 1 < chars.count, chars[index + 1] == "*" {
                        depth += 1
                        index += 2
                    } else if chars[index] == "*", index + 1 < chars.count, chars[index + 1] == "/" {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                } while depth > 0 && index < chars.count
                current.append(" ")
                continue
            case "'", "\"":
                current.append(char)
                index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == char {
                        if index + 1 < chars.count, chars[index + 1] == char {
                            current.append(chars[index + 1])
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
                continue
            case "$":
                if let tag = dollarTag(chars, at: index) {
                    current.append(contentsOf: tag)
                    index += tag.count
                    while index < chars.count {
                        if chars[index] == "$", hasTag(tag, in: chars, at: index) {
                            current.append(contentsOf: tag)
                            index += tag.count
                            break
                        }
                        current.append(chars[index])
                        index += 1
                    }
                    continue
                }
            case ";":
                flush()
                index += 1
                continue
            default:
                break
            }
            current.append(char)
            index += 1
        }
        flush()
        return statements
    }

    private static func dollarTag(_ chars: [Unicode.Scalar], at start: Int) -> [Unicode.Scalar]? {
        if start > 0, chars[start - 1].properties.isAlphabetic || chars[start - 1] == "_" || ("0"..."9").contains(chars[start - 1]) {
            return nil  // part of an identifier or a positional parameter like $1
        }
        var end = start + 1
        while end < chars.count, chars[end] != "$" {
            let c = chars[end]
            guard c.properties.isAlphabetic || c == "_" || (end > start + 1 && ("0"..."9").contains(c)) else { return nil }
            end += 1
        }
        guard end < chars.count else { return nil }
        return Array(chars[start...end])
    }

    private static func hasTag(_ tag: [Unicode.Scalar], in chars: [Unicode.Scalar], at index: Int) -> Bool {
        guard index + tag.count <= chars.count else { return false }
        return Array(chars[index..<index + tag.count]) == tag
    }
}
