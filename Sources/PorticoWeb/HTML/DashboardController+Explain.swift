import Foundation
import Hummingbird
import PorticoCore

/// "Why was this call refused?": the Explain page runs a method, a URL and a credential (or a user) through the
/// gateway's own decision and shows each step. The credential is never shown back, stored or logged.
extension DashboardController {
    static let explainMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    func addExplainRoutes(to group: RouterGroup<Context>) {
        group.get("explain") { request, context in
            let query = request.uri.queryParameters
            var values = ["method": query.get("method") ?? "GET", "url": query.get("url") ?? ""]
            if let id = query.get("user").flatMap({ UUID(uuidString: $0) }) { values["user"] = try await users.get(id).email }
            return explainPage(values: values, explanation: nil, errors: [:], context: context)
        }
        group.get("refusals") { request, context in
            let requestId = request.uri.queryParameters.get("requestId") ?? ""
            var page: [String: Any] = ["requestId": requestId, "searched": !requestId.isEmpty]
            var status = HTTPResponse.Status.ok
            if !requestId.isEmpty {
                do {
                    let found = try await refusals.find(requestId: requestId)
                    page["found"] = found.map { found -> [String: Any] in
                        var row = Self.refusalRow(found.refusal, userId: found.userId)
                        row["user"] = found.userEmail ?? "consumer \(found.refusal.consumer.headerText)"
                        row["userId"] = found.userId?.uuidString ?? ""
                        return row
                    }
                    page["none"] = found.isEmpty
                } catch PorticoError.invalid(_, let reason) {
                    page["error"] = reason
                    status = .unprocessableContent
                }
            }
            return renderer.page("refusals", title: "Find a refusal", page, context: context, section: "explain", status: status)
        }
        group.post("explain") { _, context in
            let form = context.web.form
            let values = ["method": form.text("method") ?? "GET", "url": form.text("url") ?? "", "user": form.text("user") ?? ""]
            do {
                var input = ExplainInput(method: values["method"] ?? "GET", url: values["url"] ?? "", credential: form.text("credential"))
                if let email = form.text("user") {
                    guard let user = try await users.find(email: email) else {
                        throw PorticoError.invalid(field: "user", reason: "no user has the email '\(email)'")
                    }
                    input.userId = user.id
                }
                return explainPage(values: values, explanation: try await explain.explain(input), errors: [:], context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: values) else { throw error }
                return explainPage(values: values, explanation: nil, errors: feedback.errors, context: context)
            }
        }
    }

    /// A refusal as a table row, with a link that explains the same call (as the user, when known).
    static func refusalRow(_ refusal: Refusal, userId: UUID?) -> [String: Any] {
        var explain = URLComponents()
        explain.path = "/admin/explain"
        explain.queryItems =
            [URLQueryItem(name: "method", value: refusal.method), URLQueryItem(name: "url", value: refusal.path)]
            + (userId.map { [URLQueryItem(name: "user", value: $0.uuidString)] } ?? [])
        return [
            "at": Format.date(refusal.at), "requestId": refusal.requestId, "method": refusal.method, "path": refusal.path,
            "api": refusal.api ?? "—", "status": refusal.status, "error": refusal.error, "step": refusal.step, "message": refusal.message,
            "explainLink": explain.string ?? "/admin/explain",
        ]
    }

    private func explainPage(values: [String: String], explanation: Explanation?, errors: [String: String], context: Context) -> Response {
        var page: [String: Any] = [
            "values": values, "errors": errors, "available": explain.isAvailable,
            "methods": Self.explainMethods.map { ["name": $0, "selected": $0 == values["method"]] },
        ]
        if let explanation { page["result"] = Self.explanationValues(explanation) }
        return renderer.page(
            "explain", title: "Explain a call", page, context: context, section: "explain", status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    static func explanationValues(_ explanation: Explanation) -> [String: Any] {
        let decision = explanation.decision
        func fields(_ list: [Explanation.Field]) -> [[String: String]] { list.map { ["name": $0.name, "value": $0.value] } }
        var values: [String: Any] = [
            "forwarded": decision.forwarded,
            "status": decision.status.map(String.init) ?? "", "error": decision.error ?? "", "message": decision.message ?? "",
            "steps": explanation.steps.map { step in
                [
                    "step": step.step.rawValue, "outcome": step.outcome.rawValue, "passed": step.outcome == .passed,
                    "failed": step.outcome == .failed, "detail": step.detail, "hasChecks": !(step.checks ?? []).isEmpty,
                    "checks": (step.checks ?? []).map {
                        ["check": $0.check, "outcome": $0.outcome.rawValue, "passed": $0.outcome == .passed, "detail": $0.detail]
                    },
                ] as [String: Any]
            },
            "responseHeaders": fields(explanation.responseHeaders), "hasResponseHeaders": !explanation.responseHeaders.isEmpty,
        ]
        if let upstream = explanation.upstreamRequest {
            values["upstream"] = ["method": upstream.method, "url": upstream.url, "headers": fields(upstream.headers)] as [String: Any]
        }
        return values
    }
}
