import Foundation
import Hummingbird
import PorticoCore

/// What the dashboard and the portal know about a request: who is signed in, the form it posted, the token
/// its forms must carry, and a message left by the previous page.
public struct WebState: Sendable {
    public var signedIn: SignInService.SignedIn?
    public var form = FormValues()
    public var csrfToken = ""
    public var flash: String?
    public var secureCookies = false

    public var user: User? { signedIn?.user }
}

/// A posted `application/x-www-form-urlencoded` body; a name may repeat (checkboxes, multi-selects).
public struct FormValues: Sendable {
    private var pairs: [(String, String)] = []

    public init() {}

    public init(_ text: String) {
        pairs = URLEncodedForm.pairs(in: text).map { ($0.name, $0.value) }
    }

    public subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    /// The trimmed value, nil when absent or empty.
    public func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    public func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1).filter { !$0.isEmpty } }

    public func isChecked(_ name: String) -> Bool { self[name] != nil }

    /// The comma-separated items, trimmed; nil when there are none.
    public func commaSeparated(_ name: String) -> [String]? {
        let items = (self[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        return items.isEmpty ? nil : items
    }

    /// A date from an `<input type="date">` (the end of that day, UTC) or a full ISO 8601 time; nil when empty.
    public func date(_ name: String) throws(PorticoError) -> Date? {
        guard let text = text(name) else { return nil }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard let day = formatter.date(from: text) else {
            throw PorticoError.invalid(field: name, reason: "'\(text)' is not a date such as 2030-01-31")
        }
        return day.addingTimeInterval(86_399)
    }

    /// Every value, for re-filling a form that came back with errors.
    public var values: [String: String] { Dictionary(pairs, uniquingKeysWith: { first, _ in first }) }
}

enum WebCookies {
    static let session = "portico_session"
    static let csrf = "portico_csrf"
    static let flash = "portico_flash"
    static let signInFlow = "portico_sign_in"

    static func make(_ name: String, value: String, secure: Bool, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func clear(_ name: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}
