import Foundation
import Hummingbird
import PorticoCore

extension AdminRequestContext {
    /// The signed-in user of a page behind `SignedInMiddleware`, which has already sent anyone else to sign in.
    func signedInUser(area: WebArea) throws -> User {
        guard let user = web.user else { throw WebError.signInRequired(area.signInPath) }
        return user
    }

    func pageNumber(_ request: Request) -> Int {
        max(request.uri.queryParameters.get("page", as: Int.self) ?? 1, 1)
    }
}

/// What a form shows when it comes back: the values entered and a message next to each wrong field.
struct FormFeedback {
    var values: [String: String]
    var errors: [String: String] = [:]

    /// The field key a template uses (`rateLimit.period` → `rateLimit_period`).
    static func key(_ field: String) -> String { field.replacingOccurrences(of: ".", with: "_") }

    /// The feedback for a service error; nil when the error is not about the input (it becomes an error page).
    static func from(_ error: Error, values: [String: String]) -> FormFeedback? {
        guard let error = error as? PorticoError else { return nil }
        var feedback = FormFeedback(values: values)
        switch error {
        case .invalid(let field, let reason):
            for name in field.split(separator: ",") { feedback.errors[key(name.trimmingCharacters(in: .whitespaces))] = reason }
            feedback.errors["form"] = error.message
        case .duplicate, .conflict, .malformed:
            feedback.errors["form"] = error.message
        case .changedSinceRead:
            feedback.errors["form"] =
                "Someone else changed this since you opened it, so nothing was saved. The page now shows your entries with their version: review the current settings (open the page again to see them) before saving over them."
        default:
            return nil
        }
        return feedback
    }

    var dictionary: [String: Any] { ["values": values, "errors": errors, "hasErrors": !errors.isEmpty] }
}

/// Paging at 50 rows.
struct Paging {
    static let size = 50
    let page: Int
    let total: Int

    var offset: Int { Self.offset(ofPage: page) }

    /// Rows to skip for page `number` (from 1), known before the total is.
    static func offset(ofPage number: Int) -> Int { (max(number, 1) - 1) * size }
    var pages: Int { max(1, (total + Self.size - 1) / Self.size) }

    /// One page of a list that is small enough to read whole (groups, APIs, grants); a form that comes back with
    /// errors shows the first page.
    static func slice<Row>(_ rows: [Row], request: Request?, context: AdminRequestContext, link: String) -> (
        rows: ArraySlice<Row>, paging: [String: Any]
    ) {
        let paging = Paging(page: request.map(context.pageNumber) ?? 1, total: rows.count)
        let start = min(paging.offset, rows.count)
        return (rows[start..<min(start + size, rows.count)], paging.dictionary { "\(link)?page=\($0)" })
    }

    /// The page of a database-paged list that `request` asks for: `load` gets its limit and offset.
    static func fetch<Row>(
        _ request: Request, context: AdminRequestContext, link: (Int) -> String, _ load: (_ limit: Int, _ offset: Int) async throws -> Page<Row>
    ) async throws -> (rows: [Row], paging: [String: Any]) {
        let number = context.pageNumber(request)
        let page = try await load(size, offset(ofPage: number))
        return (page.rows, Paging(page: number, total: page.total).dictionary(link: link))
    }

    func dictionary(link: (Int) -> String) -> [String: Any] {
        var values: [String: Any] = ["page": page, "pages": pages, "total": total]
        if page > 1 { values["previous"] = link(page - 1) }
        if page < pages { values["next"] = link(page + 1) }
        return values
    }
}

enum Format {
    static func date(_ date: Date?) -> String {
        guard let date else { return "—" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    static func limit(_ limit: RateLimitView?) -> String {
        guard let limit else { return "unlimited" }
        return "\(limit.limit) per \(period(limit.period))"
    }

    static func quota(_ quota: Quota?) -> String {
        guard let quota else { return "no quota" }
        return switch quota.period {
        case .day: "\(quota.limit) per day"
        case .thirtyDays: "\(quota.limit) per 30 days"
        case .month: "\(quota.limit) per month"
        }
    }

    static func period(_ seconds: Int) -> String {
        switch seconds {
        case 1: "second"
        case 60: "minute"
        case 3600: "hour"
        case 86400: "day"
        default: seconds % 3600 == 0 ? "\(seconds / 3600) h" : seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
        }
    }

    static func query(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+#"))) ?? ""
    }
}
