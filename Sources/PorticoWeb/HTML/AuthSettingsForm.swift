import Foundation
import PorticoCore

/// The auth settings as one flat HTML form, and back.
enum AuthSettingsForm {
    /// The key source choice for JWT mode without JWT settings: only identity providers with acceptTokens are trusted.
    static let providersOnly = "identityProviders"

    /// The key source choices, as the form offers them.
    static let keySources: [(value: String, label: String)] = [
        ("signingSecret", "signing secret (HS256/384/512)"), ("publicKey", "PEM public key"), ("jwksFile", "JWK set file or JSON"),
        ("jwksUrl", "JWKS URL"), (providersOnly, "only the identity providers that accept tokens"),
    ]

    static func values(of view: AuthSettingsView) -> [String: String] {
        var values: [String: String] = [
            "mode": view.mode.rawValue, "groups": view.claimsMapping.groups, "userId": view.claimsMapping.userId,
            "email": view.claimsMapping.email ?? "", "tokenName": view.claimsMapping.tokenName ?? "",
        ]
        guard let jwt = view.jwt else {
            values["keySource"] = view.mode == .jwt ? Self.providersOnly : "signingSecret"
            values["header"] = "Authorization"
            return values
        }
        for (source, value) in [
            ("signingSecret", jwt.signingSecret), ("publicKey", jwt.publicKey), ("jwksFile", jwt.jwksFile), ("jwksUrl", jwt.jwksUrl),
        ] {
            guard let value else { continue }
            values["keySource"] = source
            // A stored secret is never sent to the browser; an empty field keeps it.
            values["keyValue"] = value == "set" ? "" : value
            if value == "set" { values["secretIsSet"] = "1" }
        }
        if jwt.signingSecretBase64Encoded == true { values["signingSecretBase64Encoded"] = "on" }
        values["algorithms"] = jwt.algorithms?.joined(separator: ", ") ?? ""
        values["issuers"] = ([jwt.issuer].compactMap { $0 } + (jwt.issuers ?? [])).joined(separator: ", ")
        values["audiences"] = jwt.audiences?.joined(separator: ", ") ?? ""
        values["leewaySeconds"] = jwt.leewaySeconds.map(String.init) ?? ""
        values["jwksCacheSeconds"] = jwt.jwksCacheSeconds.map(String.init) ?? ""
        values["header"] = jwt.tokenSources?.header ?? (jwt.tokenSources == nil ? "Authorization" : "")
        values["query"] = jwt.tokenSources?.query ?? ""
        values["formField"] = jwt.tokenSources?.form ?? ""
        values["cookie"] = jwt.tokenSources?.cookie ?? ""
        values["forwardHeaders"] = (jwt.forwardHeaders ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
        if jwt.stripAuthorizationHeader == true { values["stripAuthorizationHeader"] = "on" }
        values["claims"] = jwt.claims ?? ""
        values["strictness"] = jwt.strictness?.rawValue ?? "strict"
        values["anonymousGroup"] = jwt.anonymousGroup ?? ""
        values["usernameClaim"] = jwt.usernameClaim ?? ""
        return values
    }

    static func input(from form: FormValues) throws(PorticoError) -> AuthSettingsInput {
        guard let mode = AuthMode(rawValue: form.text("mode") ?? "api_key") else {
            throw PorticoError.invalid(field: "mode", reason: "must be api_key or jwt")
        }
        let mapping = ClaimsMapping(
            groups: form.text("groups") ?? "groups", userId: form.text("userId") ?? "sub", email: form.text("email"),
            tokenName: form.text("tokenName"))
        let source = form.text("keySource") ?? "signingSecret"
        if source == Self.providersOnly { return AuthSettingsInput(mode: mode, jwt: .some(nil), claimsMapping: mapping) }
        let keyValue = form.text("keyValue")
        // Nothing typed for the key and nothing stored: in API-key mode the JWT settings are simply left unset.
        if keyValue == nil, !(source == "signingSecret" && form.isChecked("secretIsSet")), mode == .apiKey {
            return AuthSettingsInput(mode: mode, jwt: .some(nil), claimsMapping: mapping)
        }
        var jwt = JWTSettings()
        switch source {
        case "signingSecret": jwt.signingSecret = keyValue ?? "set"
        case "publicKey": jwt.publicKey = keyValue
        case "jwksFile": jwt.jwksFile = keyValue
        case "jwksUrl": jwt.jwksUrl = keyValue
        default:
            throw PorticoError.invalid(field: "keySource", reason: "must be signingSecret, publicKey, jwksFile, jwksUrl or \(Self.providersOnly)")
        }
        if form.isChecked("signingSecretBase64Encoded") { jwt.signingSecretBase64Encoded = true }
        jwt.algorithms = form.commaSeparated("algorithms")
        let issuers = form.commaSeparated("issuers") ?? []
        jwt.issuer = issuers.first
        jwt.issuers = issuers.count > 1 ? Array(issuers.dropFirst()) : nil
        jwt.audiences = form.commaSeparated("audiences")
        jwt.leewaySeconds = try number(form.text("leewaySeconds"), field: "jwt.leewaySeconds")
        jwt.jwksCacheSeconds = try number(form.text("jwksCacheSeconds"), field: "jwt.jwksCacheSeconds")
        jwt.tokenSources = .init(header: form.text("header"), query: form.text("query"), form: form.text("formField"), cookie: form.text("cookie"))
        var forwards: [String: String] = [:]
        for line in (form["forwardHeaders"] ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                throw PorticoError.invalid(field: "jwt.forwardHeaders", reason: "'\(line)' is not 'Header: claim'")
            }
            forwards[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        jwt.forwardHeaders = forwards.isEmpty ? nil : forwards
        jwt.stripAuthorizationHeader = form.isChecked("stripAuthorizationHeader")
        jwt.claims = form.text("claims")
        jwt.strictness = form.text("strictness").flatMap(JWTSettings.Strictness.init(rawValue:))
        jwt.anonymousGroup = form.text("anonymousGroup")
        jwt.usernameClaim = form.text("usernameClaim")
        return AuthSettingsInput(mode: mode, jwt: .some(jwt), claimsMapping: mapping)
    }

    private static func number(_ text: String?, field: String) throws(PorticoError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text) else { throw PorticoError.invalid(field: field, reason: "'\(text)' is not a whole number") }
        return value
    }
}
