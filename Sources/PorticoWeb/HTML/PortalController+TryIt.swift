import Foundation
import Hummingbird
import PorticoCatalog
import PorticoCore

/// The try-it console: one page per operation with a form (path and query parameters, the headers the document
/// names, a body prefilled from its example) that the portal sends through its gateway as the signed-in consumer,
/// then the same page again with the answer below the form. Plain forms: it works without JavaScript.
extension PortalController {
    func addTryItRoutes(to group: RouterGroup<Context>) {
        group.get("apis/{id}/try/{operation}") { _, context in
            let (access, operation) = try await tryableOperation(context: context)
            return tryItPage(access, operation, context: context, sent: nil)
        }
        group.post("apis/{id}/try/{operation}") { _, context in
            let form = context.web.form
            let (access, operation) = try await tryableOperation(context: context)
            guard let tryIt else { throw PorticoError.notFound("try-it console") }
            do {
                let call = try TryItCall(operation, values: form.values, body: form["body"])
                let mode = try await authSettings.current().mode
                let outcome = try await tryIt.send(call, as: try context.signedInUser(area: .portal), api: access.api.id, mode: mode)
                return tryItPage(access, operation, context: context, sent: (call, outcome, FormFeedback(values: form.values)))
            } catch PorticoError.unavailable(let reason) {
                var feedback = FormFeedback(values: form.values)
                feedback.errors["form"] = "Nothing was received: \(reason)."
                return tryItPage(access, operation, context: context, sent: (nil, nil, feedback))
            } catch {
                guard let feedback = FormFeedback.from(error, values: form.values) else { throw error }
                return tryItPage(access, operation, context: context, sent: (nil, nil, feedback))
            }
        }
    }

    /// The operation the route names on an API the signed-in consumer may call (which the try-it console needs
    /// a document for); anything else is answered as if it did not exist.
    func tryableOperation(context: Context) async throws -> (ConsumerAccess, TryableOperation) {
        let access = try await callableAPI(context: context)
        let anchor = context.parameters.get("operation") ?? ""
        guard offersTryIt(on: access.api),
            let operation = TryableOperation(try await documents.document(of: access.api.id), exposedPrefix: access.api.exposedPrefix, anchor: anchor)
        else { throw PorticoError.notFound("operation '\(anchor)' of API \(access.api.name)") }
        return (access, operation)
    }

    func tryItPage(
        _ access: ConsumerAccess, _ operation: TryableOperation, context: Context,
        sent: (call: TryItCall?, outcome: TryItOutcome?, feedback: FormFeedback)?
    ) -> Response {
        let feedback = sent?.feedback
        let fields: [[String: Any]] = operation.fields.enumerated().map { index, field in
            let name = TryItCall.fieldName(index)
            return [
                "fieldName": name, "parameter": field.name, "location": field.location.rawValue, "required": field.required,
                "reserved": field.reserved, "fieldValue": feedback?.values[name] ?? field.example,
                "fieldError": feedback?.errors[FormFeedback.key(name)] ?? "",
            ]
        }
        var values: [String: Any] = [
            "apiId": access.api.id.uuidString, "apiName": access.api.name, "anchor": operation.anchor, "method": operation.method,
            "path": operation.path, "summary": operation.summary, "fields": fields, "hasFields": !fields.isEmpty,
            "hasBody": operation.bodyMediaType != nil, "bodyMediaType": operation.bodyMediaType ?? "",
            "bodyValue": feedback?.values["body"] ?? operation.bodyExample ?? "", "bodyError": feedback?.errors["body"] ?? "",
            "formError": feedback?.errors["form"] ?? "",
        ]
        if let call = sent?.call, let outcome = sent?.outcome {
            values["result"] =
                [
                    "status": outcome.status, "reason": outcome.reason, "milliseconds": outcome.milliseconds,
                    "success": (200..<300).contains(outcome.status), "sentMethod": call.method, "sentURL": gatewayURL + call.target,
                    "headers": outcome.headers.map { header in
                        ["headerName": header.name, "headerValue": header.value, "limit": Self.isLimitField(header.name)] as [String: Any]
                    },
                    "responseBody": outcome.body, "truncated": outcome.truncated, "shownKiB": TryItService.shownBodyBytes >> 10,
                ] as [String: Any]
        }
        return renderer.page(
            "portal-try", title: "Try \(operation.method) \(operation.path)", values, context: context, section: "portalAPIs",
            status: feedback?.errors.isEmpty == false ? .unprocessableContent : .ok)
    }

    /// Whether the portal has a gateway to try calls through and the API takes them: an OIDC-protected API wants a
    /// browser session with its provider, which a pass does not stand in for.
    func offersTryIt(on api: APIDefinition) -> Bool { tryIt != nil && api.oidc == nil }

    /// The answer's fields that tell the consumer where they stand against their limits.
    static func isLimitField(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered.hasPrefix("x-ratelimit-") || lowered.hasPrefix("x-quota-") || lowered.hasPrefix("ratelimit") || lowered == "retry-after"
    }
}
