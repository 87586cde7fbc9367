import Foundation
import PorticoCore

/// An identity provider as one flat HTML form, and back. The form gives every field, so saving it sets each one:
/// an empty optional field clears it, and an empty client secret keeps the stored one.
enum IdentityProviderForm {
    static func fields(from form: FormValues) -> [String: JSONValue] {
        func text(_ name: String) -> JSONValue { form.text(name).map(JSONValue.string) ?? .null }
        func list(_ name: String, separators: String) -> JSONValue {
            let items = (form[name] ?? "").split(whereSeparator: { separators.contains($0) || $0.isNewline })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return items.isEmpty ? .null : .array(items.map(JSONValue.string))
        }
        var mapping: [String: JSONValue] = [
            "groups": .string(form.text("groupsClaim") ?? "groups"), "userId": .string(form.text("userIdClaim") ?? "sub"),
        ]
        mapping["email"] = text("emailClaim")
        mapping["tokenName"] = text("tokenNameClaim")
        var fields: [String: JSONValue] = [
            "name": .string(form.text("name") ?? ""), "issuer": .string(form.text("issuer") ?? ""), "clientId": text("clientId"),
            "scopes": list("scopes", separators: " ,"), "audiences": list("audiences", separators: ","),
            "claimsMapping": .object(mapping), "acceptTokens": .bool(form.isChecked("acceptTokens")),
            "signIn": .object(["dashboard": .bool(form.isChecked("signInDashboard")), "portal": .bool(form.isChecked("signInPortal"))]),
            "adminGroups": list("adminGroups", separators: ","), "authParams": authParams(form["authParams"] ?? ""),
        ]
        if let secret = form.text("clientSecret") { fields["clientSecret"] = .string(secret) }
        return fields
    }

    /// `key=value` lines; a line without `=` is a parameter with an empty value.
    private static func authParams(_ text: String) -> JSONValue {
        var params: [String: JSONValue] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            params[parts[0].trimmingCharacters(in: .whitespaces)] = .string(parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        return params.isEmpty ? .null : .object(params)
    }

    static func values(of view: IdentityProviderView) -> [String: String] {
        let settings = view.settings
        let mapping = settings.claimsMapping ?? .standard
        var values: [String: String] = [
            "name": settings.name, "issuer": settings.issuer, "clientId": settings.clientId ?? "",
            "scopes": (settings.scopes ?? []).joined(separator: " "), "audiences": (settings.audiences ?? []).joined(separator: ", "),
            "groupsClaim": mapping.groups, "userIdClaim": mapping.userId, "emailClaim": mapping.email ?? "",
            "tokenNameClaim": mapping.tokenName ?? "", "adminGroups": (settings.adminGroups ?? []).joined(separator: ", "),
            "authParams": (settings.authParams ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"),
        ]
        if settings.acceptTokens == true { values["acceptTokens"] = "on" }
        if settings.signIn?.dashboard == true { values["signInDashboard"] = "on" }
        if settings.signIn?.portal == true { values["signInPortal"] = "on" }
        if settings.clientSecret != nil { values["secretIsSet"] = "1" }
        return values
    }
}
