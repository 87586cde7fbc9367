import Foundation
import PorticoCore

/// How a user, an API or a key shows in a table row or a detail page, the same on every page that lists one.
enum PageRows {
    static func user(_ user: User) -> [String: Any] {
        [
            "id": user.id.uuidString, "email": user.email.isEmpty ? "(no email)" : user.email, "name": user.name,
            "role": user.role.rawValue, "groups": user.groups.joined(separator: ", "), "disabled": user.disabled,
            "externalId": user.externalId ?? "", "lastSeen": Format.date(user.lastSeenAt),
        ]
    }

    static func api(_ api: APIDefinition) -> [String: Any] {
        [
            "id": api.id.uuidString, "name": api.name, "pathPrefix": api.pathPrefix, "host": api.host ?? "", "upstream": api.upstream,
            "stripPrefix": api.stripPrefix, "status": api.status.rawValue,
        ]
    }

    static func key(_ key: APIKeyInfo) -> [String: Any] {
        [
            "id": key.id.uuidString, "name": key.name, "prefix": key.prefix, "state": key.state.rawValue.replacingOccurrences(of: "_", with: " "),
            "active": key.state == .active || key.state == .disabledByModeSwitch, "created": Format.date(key.createdAt),
            "lastUsed": Format.date(key.lastUsedAt), "expires": Format.date(key.expiresAt),
        ]
    }
}
