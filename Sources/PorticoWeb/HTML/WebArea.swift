import Foundation
import HTTPTypes
import Hummingbird

/// The two server-rendered areas: the admin dashboard under `/admin` and the consumer portal under `/portal`.
enum WebArea: Sendable {
    case dashboard
    case portal

    var home: String {
        switch self {
        case .dashboard: "/admin"
        case .portal: "/portal"
        }
    }

    var signInPath: String { home + "/sign-in" }

    var signInTemplate: String {
        switch self {
        case .dashboard: "sign-in"
        case .portal: "portal-sign-in"
        }
    }

    /// Where to sign in, coming back to `path` afterwards (when it is a page of this area other than its home).
    func signInLocation(returningTo path: String?) -> String {
        guard let path = returnPath(path), path != home else { return signInPath }
        return signInPath + "?return=" + Format.query(path)
    }

    /// `candidate` when it is a path of this area on this site, else nil: a sign-in never sends a browser to
    /// another site (`//host`, `/\host` and `https://host` are all refused), nor to a path outside the area.
    func returnPath(_ candidate: String?) -> String? {
        guard let candidate, candidate == home || candidate.hasPrefix(home + "/") || candidate.hasPrefix(home + "?") else { return nil }
        guard !candidate.contains("\\"), !candidate.contains("//"),
            !candidate.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return nil }
        return candidate
    }
}

extension Response {
    /// Asks the browser to send no `Referer` from this page (`Referrer-Policy`, not among HTTPTypes' names).
    mutating func withholdReferrer() {
        if let name = HTTPField.Name("Referrer-Policy") { headers[name] = "no-referrer" }
    }
}
