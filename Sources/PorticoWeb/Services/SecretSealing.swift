import PorticoCore

/// How a secret given to the admin API is stored: a reference (`env:NAME`, `file:/path`) as it is, a literal sealed
/// with `PORTICO_SECRET_KEY`, and `"set"` keeping what is stored. A value already in the sealed form is refused:
/// only Portico writes those.
struct SecretSealing {
    let box: SecretBox?

    /// What to store for `proposed` (nil or empty: no secret) over `stored`; errors name `field`.
    func stored(_ proposed: String?, over stored: String?, field: String) throws -> String? {
        guard let proposed, !proposed.isEmpty else { return nil }
        if proposed == "set" {
            guard let stored else { throw PorticoError.invalid(field: field, reason: "\"set\" keeps the stored secret, but none is stored") }
            return stored
        }
        if proposed.hasPrefix(SecretBox.storedPrefix) {
            throw PorticoError.invalid(field: field, reason: "give the secret itself or a reference (env:NAME, file:/path)")
        }
        if SecretReference(stored: proposed) != nil { return proposed }
        guard let box else {
            throw PorticoError.invalid(
                field: field, reason: "a literal secret is stored encrypted, which needs PORTICO_SECRET_KEY; or give env:NAME or file:/path")
        }
        return try box.seal(proposed)
    }
}
