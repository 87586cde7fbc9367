/// Input rules shared by every way of changing the model (JSON API, dashboard, CLI).
public enum Validation {
    /// A display name, trimmed: not empty, at most `maxLength` characters, no control characters.
    public static func name(_ value: String, field: String = "name", maxLength: Int = 100) throws(PorticoError) -> String {
        let trimmed = value.trimmingSpaces()
        guard !trimmed.isEmpty else { throw .invalid(field: field, reason: "must not be empty") }
        guard trimmed.count <= maxLength else { throw .invalid(field: field, reason: "must be at most \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field: field, reason: "must not contain control characters")
        }
        return trimmed
    }

    /// Group and API names appear in tokens and URLs: letters, digits, `-`, `_`, `.`, `:`.
    public static func identifier(_ value: String, field: String = "name") throws(PorticoError) -> String {
        let trimmed = try name(value, field: field, maxLength: 64)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
        guard trimmed.allSatisfy({ allowed.contains($0) }) else {
            throw .invalid(field: field, reason: "'\(trimmed)' may only contain letters, digits, '-', '_', '.' and ':'")
        }
        return trimmed
    }

    /// An email address, trimmed, in the plain `local@domain` form (at most 254 characters, a dot in the domain).
    public static func email(_ value: String, field: String = "email") throws(PorticoError) -> String {
        let trimmed = value.trimmingSpaces()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !trimmed.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
        else { throw .invalid(field: field, reason: "'\(value)' is not an email address") }
        return trimmed
    }

    /// A path prefix: starts with `/`, no trailing `/` (except the root), no query, fragment, empty or dot segments.
    public static func pathPrefix(_ value: String, field: String = "pathPrefix") throws(PorticoError) -> String {
        var prefix = value.trimmingSpaces()
        guard prefix.hasPrefix("/") else { throw .invalid(field: field, reason: "must start with '/'") }
        while prefix.count > 1, prefix.hasSuffix("/") { prefix.removeLast() }
        guard prefix.count <= 200 else { throw .invalid(field: field, reason: "must be at most 200 characters") }
        guard !prefix.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace || $0 == "%" }) else {
            throw .invalid(field: field, reason: "must not contain '?', '#', '%' or spaces")
        }
        if prefix != "/" {
            let segments = prefix.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw .invalid(field: field, reason: "must not contain empty, '.' or '..' segments")
            }
        }
        return prefix
    }

    /// A host name for host-based routing: lower-cased, no port, no scheme.
    public static func host(_ value: String, field: String = "host") throws(PorticoError) -> String {
        let host = value.trimmingSpaces().lowercased()
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard !host.isEmpty, host.count <= 253, host.allSatisfy({ allowed.contains($0) }),
            !host.hasPrefix("."), !host.hasSuffix("."), !host.hasPrefix("-")
        else { throw .invalid(field: field, reason: "'\(value)' is not a host name (no scheme, no port)") }
        return host
    }

    /// An upstream base URL the gateway can proxy to (`http` or `https`, a host, no query or fragment).
    public static func upstream(_ value: String, field: String = "upstream") throws(PorticoError) -> String {
        let trimmed = value.trimmingSpaces()
        _ = try Upstream(trimmed, field: field)
        return trimmed
    }

    /// Where an API's OpenAPI document is fetched from: an absolute `http`/`https` URL, or a path on the API's
    /// upstream (`/openapi.json`).
    public static func documentURL(_ value: String, field: String = "openapiUrl") throws(PorticoError) -> String {
        let trimmed = value.trimmingSpaces()
        guard trimmed.count <= 2000, !trimmed.contains(where: { $0.isWhitespace }) else {
            throw .invalid(field: field, reason: "must be a URL or a path without spaces, at most 2000 characters")
        }
        if trimmed.hasPrefix("/") { return trimmed }
        let lowered = trimmed.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), trimmed.count > 8 else {
            throw .invalid(field: field, reason: "'\(trimmed)' must be an http(s) URL or a path on the upstream starting with '/'")
        }
        return trimmed
    }
}
