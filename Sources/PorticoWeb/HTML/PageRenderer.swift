import Foundation
import Hummingbird
import Mustache
import NIOCore
import PorticoCatalog
import PorticoCore

/// Renders the Mustache templates of `templates/` into pages. Every value is HTML-escaped by Mustache's `{{…}}`;
/// the unescaped form `{{{…}}}` is used only for HTML Portico made itself: descriptions through `SafeMarkdown`'s
/// allow-list, and fragments this renderer produced.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary
    let stylesheet: ByteBuffer
    let script: ByteBuffer
    /// The admin API's own OpenAPI document (`admin-api.openapi.yaml`), checked at load and served as JSON.
    let adminAPIDocument: ByteBuffer

    /// The admin API's document beside the templates.
    public static let adminAPIDocumentFile = "admin-api.openapi.yaml"

    /// Why the templates could not be loaded at start-up.
    public enum LoadError: Error, CustomStringConvertible {
        case missing(String)
        public var description: String {
            switch self {
            case .missing(let what): what
            }
        }
    }

    /// Loads every `*.mustache` file of `directory`, its `portico.css` and `portico.js` (the copy button; every page
    /// works without it).
    public static func load(directory: String) async throws -> PageRenderer {
        let library = try await MustacheLibrary(directory: directory)
        guard library.getTemplate(named: "layout") != nil else {
            throw LoadError.missing("no templates in \(directory) (layout.mustache is missing); set PORTICO_TEMPLATES or --templates")
        }
        guard let css = FileManager.default.contents(atPath: directory + "/portico.css") else {
            throw LoadError.missing("\(directory)/portico.css is missing")
        }
        guard let js = FileManager.default.contents(atPath: directory + "/portico.js") else {
            throw LoadError.missing("\(directory)/portico.js is missing")
        }
        guard let adminAPI = FileManager.default.contents(atPath: directory + "/" + adminAPIDocumentFile) else {
            throw LoadError.missing("\(directory)/\(adminAPIDocumentFile) is missing")
        }
        let document: APIDocument
        do {
            document = try APIDocument(parsing: String(decoding: adminAPI, as: UTF8.self))
        } catch {
            throw LoadError.missing("\(directory)/\(adminAPIDocumentFile) is not a usable OpenAPI document: \(error)")
        }
        return PageRenderer(
            library: library, stylesheet: ByteBuffer(bytes: css), script: ByteBuffer(bytes: js),
            adminAPIDocument: ByteBuffer(bytes: try document.json()))
    }

    func page(
        _ template: String, title: String, _ values: [String: Any] = [:], context: AdminRequestContext, section: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var all = values
        all["title"] = title
        all["csrf"] = context.web.csrfToken
        all["flash"] = context.web.flash
        if let user = context.web.user {
            all["me"] = ["email": user.email.isEmpty ? (user.externalId ?? "") : user.email, "isAdmin": user.role == .admin]
        }
        if let section { all["nav_" + section] = true }
        all["area_" + (template.hasPrefix("portal") ? "portal" : "admin")] = true
        let html =
            library.render(Self.withoutEmptyText(all), withTemplate: template)
            ?? "<!doctype html><title>Portico</title><p>The page \(template) is missing."
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        // No script may run but the page's own; no framing (clickjacking).
        headers[.contentSecurityPolicy] = "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A template rendered on its own, for a part of a page that is kept and reused (`{{{…}}}` in the page).
    func fragment(_ template: String, _ values: [String: Any]) -> String {
        library.render(Self.withoutEmptyText(values), withTemplate: template) ?? ""
    }

    /// Mustache treats an empty string as true, so `{{#host}} on {{host}}{{/host}}` would print " on ". Empty
    /// text is left out instead, at every depth, which makes such sections mean "when there is something to show".
    static func withoutEmptyText(_ value: Any) -> Any {
        switch value {
        case let text as String:
            return text
        case let dictionary as [String: String]:
            return dictionary.filter { !$0.value.isEmpty }
        case let dictionary as [String: Any]:
            return dictionary.compactMapValues { nested -> Any? in
                if let text = nested as? String, text.isEmpty { return nil }
                return withoutEmptyText(nested)
            }
        case let array as [[String: Any]]:
            return array.map { withoutEmptyText($0) }
        default:
            return value
        }
    }

    var stylesheetResponse: Response {
        Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
            body: .init(byteBuffer: stylesheet))
    }

    var adminAPIDocumentResponse: Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"], body: .init(byteBuffer: adminAPIDocument))
    }

    var scriptResponse: Response {
        Response(
            status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
            body: .init(byteBuffer: script))
    }

    /// A 303 to `location`, leaving `flash` for the next page.
    static func redirect(to location: String, flash: String? = nil, context: AdminRequestContext) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        if let flash {
            response.setCookie(WebCookies.make(WebCookies.flash, value: Base64URL.encode(Array(flash.utf8)), secure: context.web.secureCookies))
        }
        return response
    }
}
