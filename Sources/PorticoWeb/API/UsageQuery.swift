import Foundation
import PorticoCore

/// The query of `GET /api/v1/usage`: `user` (an id or an email), `api` (a name or an id), `from` and `to` (ISO 8601
/// instants or `YYYY-MM-DD` UTC dates; by default the last 30 days, or the last 24 hours by hour) and
/// `granularity` (`day`, the default, or `hour`).
struct UsageQuery {
    var user: String?
    var api: String?
    /// An application's id: only calls made with its keys.
    var application: UUID?
    var from: Date
    var to: Date
    var granularity: UsageGranularity

    init(_ parameters: [String: String], now: Date = Date()) throws(PorticoError) {
        user = parameters["user"].flatMap { $0.isEmpty ? nil : $0 }
        api = parameters["api"].flatMap { $0.isEmpty ? nil : $0 }
        if let text = parameters["application"], !text.isEmpty {
            guard let id = UUID(uuidString: text) else { throw .invalid(field: "application", reason: "'\(text)' is not an application id") }
            application = id
        }
        guard let granularity = UsageGranularity(rawValue: parameters["granularity"] ?? "day") else {
            throw .invalid(field: "granularity", reason: "'\(parameters["granularity"] ?? "")' is not a granularity; use hour or day")
        }
        self.granularity = granularity
        to = try parameters["to"].map { text throws(PorticoError) in try Self.instant(text, field: "to") } ?? now
        let span: TimeInterval = granularity == .day ? 30 * 86_400 : 86_400
        from = try parameters["from"].map { text throws(PorticoError) in try Self.instant(text, field: "from") } ?? to.addingTimeInterval(-span)
        guard from < to else { throw .invalid(field: "from", reason: "must be before to") }
    }

    static func instant(_ text: String, field: String) throws(PorticoError) -> Date {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        throw .invalid(field: field, reason: "'\(text)' is not a date; use 2026-11-26 or 2026-11-26T12:00:00Z")
    }
}
