import Foundation
import Hummingbird
import NIOCore
import PorticoCatalog
import PorticoCore
import PorticoGateway

/// The consumer portal under `/portal`: my APIs, my keys, and in JWT mode what the gateway expects of a token.
/// Everything but sign-in and invitations sits behind `SignedInMiddleware`.
struct PortalController {
    typealias Context = AdminRequestContext

    let renderer: PageRenderer
    let signInPages: SignInController
    let consumerAccess: ConsumerAccessService
    let usage: UsageService
    let keys: KeyService
    let invitations: InvitationService
    let authSettings: AuthSettingsService
    let documents: APIDocumentService
    /// The rendered document part of API pages, by document version and what changes its rendering.
    let renderedDocuments = RecentValues<String>()
    /// The gateway as consumers reach it (`--public-gateway-url`): in curl lines and the documents' `servers`.
    let gatewayURL: String
    /// Sends try-it calls through the gateway of this process; nil without one, and the portal offers no try-it.
    let tryIt: TryItService?
    let catalog: CatalogService
    /// The token tester: the gateway's own reading of a pasted token.
    let explain: ExplainService
    let applications: ApplicationService
    let keyPolicy: KeyPolicyService

    func addRoutes(to group: RouterGroup<Context>) {
        signInPages.addRoutes(to: group)
        group.get("invite/{token}") { _, context in try await invitationPage(context: context) }
        group.post("invite/{token}") { _, context in
            let token = context.parameters.get("token") ?? ""
            do {
                let user = try await invitations.accept(token: token, password: context.web.form["password"] ?? "")
                return PageRenderer.redirect(to: "/portal/sign-in", flash: "Password set for \(user.email). Sign in with it.", context: context)
            } catch {
                guard let feedback = FormFeedback.from(error, values: [:]) else { throw error }
                return try await invitationPage(context: context, feedback: feedback)
            }
        }
        let signedIn = group.group().add(middleware: SignedInMiddleware(area: .portal))
        signedIn.get { request, context in
            try await myAPIs(context: context, application: request.uri.queryParameters.get("application").flatMap { UUID(uuidString: $0) })
        }
        addKeyRoutes(to: signedIn)
        signedIn.get("token") { _, context in try await tokenPage(context: context) }
        signedIn.post("token") { _, context in
            do {
                let reading = try await explain.read(token: context.web.form["token"] ?? "")
                return try await tokenPage(context: context, reading: reading)
            } catch {
                guard let feedback = FormFeedback.from(error, values: [:]) else { throw error }
                return try await tokenPage(context: context, errors: feedback.errors)
            }
        }
        signedIn.get("apis/{id}/openapi.json") { _, context in try await publishedDocument(context: context) }
        signedIn.get("apis/{id}") { _, context in try await apiPage(context: context) }
        addTryItRoutes(to: signedIn)
        addCatalogRoutes(to: signedIn)
    }

    /// An API the signed-in consumer may call, with its OpenAPI document rendered: operations by tag, parameters,
    /// bodies and responses as tables, and a `curl` line for each with the credential the gateway expects now.
    func apiPage(context: Context) async throws -> Response {
        let access = try await callableAPI(context: context)
        let (api, id) = (access.api, access.api.id)
        var values: [String: Any] = [
            "path": api.pathPrefix, "host": api.host ?? "", "deprecated": api.status == .deprecated,
            "plan": access.limits.plan?.name ?? "—", "limit": access.limits.rate.map { Format.limit(RateLimitView($0)) } ?? "unlimited",
            "quota": Format.quota(access.limits.quota),
        ]
        do {
            let version = try await documents.version(of: id)
            let credential = Self.credential(for: try await authSettings.current())
            let prefix = api.exposedPrefix
            let offersTryIt = offersTryIt(on: api)
            // A large document's page is built once per version, prefix, credential, gateway URL and console, then reused.
            let key = [version, id.uuidString, api.name, prefix, "\(credential)", gatewayURL, "\(offersTryIt)"].joined(separator: "\u{1F}")
            values["documentHTML"] = try await renderedDocuments.value(for: key) {
                let view = DocumentView(try await documents.document(of: id), gatewayURL: gatewayURL, exposedPrefix: prefix, credential: credential)
                return renderer.fragment("portal-api-document", DocumentPage.values(view, apiId: id, apiName: api.name, tryIt: offersTryIt))
            }
        } catch PorticoError.notFound {
            values["documentHTML"] = false
        }
        return renderer.page("portal-api", title: api.name, values, context: context, section: "portalAPIs")
    }

    /// The route's API with the signed-in consumer's access to it; one they may not call is answered as if it did
    /// not exist.
    func callableAPI(context: Context) async throws -> ConsumerAccess {
        let user = try context.signedInUser(area: .portal)
        let id = try context.id(of: "API")
        guard let access = try await consumerAccess.access(of: user).first(where: { $0.api.id == id }) else {
            throw PorticoError.notFound("API \(id)")
        }
        return access
    }

    /// Where a `curl` line puts the consumer's credential: an API key in `Authorization`; in JWT mode the first
    /// place the settings read a token from.
    static func credential(for settings: AuthSettingsView) -> DocumentView.Credential {
        guard settings.mode == .jwt else { return .header(name: "Authorization", value: "Bearer $PORTICO_KEY") }
        let sources = settings.jwt?.tokenSources ?? .init()
        if let header = sources.header {
            return header.lowercased() == "authorization" ? .header(name: header, value: "Bearer $JWT") : .header(name: header, value: "$JWT")
        }
        if let query = sources.query { return .query(name: query, value: "$JWT") }
        if let cookie = sources.cookie { return .cookie(name: cookie, value: "$JWT") }
        return .header(name: "Authorization", value: "Bearer $JWT")
    }

    /// The OpenAPI document of an API the signed-in consumer may call, naming the gateway as its only server; an
    /// API they may not call is answered as if it did not exist.
    func publishedDocument(context: Context) async throws -> Response {
        let api = try await callableAPI(context: context).api
        let id = api.id
        let document = try await documents.document(of: id)
        guard let server = APIDocument.gatewayServer(gatewayURL: gatewayURL, pathPrefix: api.pathPrefix, stripPrefix: api.stripPrefix) else {
            throw PorticoError.unavailable("the gateway's public URL '\(gatewayURL)' is not a URL")
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "private, no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: try document.published(server: server))))
    }

    /// A key of the signed-in user; another user's key id is answered as if it did not exist.
    func ownKey(context: Context) async throws -> APIKeyInfo {
        let user = try context.signedInUser(area: .portal)
        let id = try context.id(of: "key")
        guard let key = try await keys.list(for: user.id).first(where: { $0.id == id }) else { throw PorticoError.notFound("key \(id)") }
        return key
    }

    func invitationPage(context: Context, feedback: FormFeedback? = nil) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let user = try await invitations.invitedUser(token: token) else {
            throw PorticoError.notFound("invitation (the link was used already or has expired)")
        }
        var values = feedback?.dictionary ?? [:]
        values["email"] = user.email
        values["action"] = "/portal/invite/\(token)"
        return renderer.page(
            "portal-invite", title: "Set your password", values, context: context, status: feedback == nil ? .ok : .unprocessableContent)
    }

    /// `application`: the usage chart counts only calls made with that application's keys.
    func myAPIs(context: Context, application: UUID? = nil) async throws -> Response {
        let user = try context.signedInUser(area: .portal)
        let owned = try await applications.list(for: user.id)
        let chosen = owned.first { $0.id == application }
        let mode = try await authSettings.current().mode
        let credential = mode == .jwt ? "$JWT" : "$PORTICO_KEY"
        let rows: [[String: Any]] = try await consumerAccess.access(of: user).map { access in
            let api = access.api
            var row: [String: Any] = [
                "id": api.id.uuidString, "name": api.name, "path": api.pathPrefix, "host": api.host ?? "", "deprecated": api.status == .deprecated,
                "plan": access.limits.plan?.name ?? "—", "limit": access.limits.rate.map { Format.limit(RateLimitView($0)) } ?? "unlimited",
                "quota": Format.quota(access.limits.quota),
                "curl": "curl -H 'Authorization: Bearer \(credential)' \(gatewayURL)\(api.pathPrefix)",
            ]
            if let left = access.quotaLeft, let resetsAt = access.quotaResetsAt {
                row["quotaLeft"] = "\(left) left, resets \(Format.date(resetsAt))"
            }
            return row
        }
        return renderer.page(
            "portal-apis", title: "My APIs",
            [
                "apis": rows, "hasAPIs": !rows.isEmpty, "groups": user.groups.joined(separator: ", "), "jwtMode": mode == .jwt,
                "usage": UsageCharts.values(
                    try await usage.lastDays(14, user: user, api: nil, application: chosen?.id),
                    subject: chosen.map { "all your APIs, with application \($0.name)'s keys" } ?? "all your APIs"),
                "applications": owned.map { ["id": $0.id.uuidString, "name": $0.name, "selected": $0.id == chosen?.id] },
                "hasApplications": owned.count > 1,
            ], context: context, section: "portalAPIs")
    }

    /// `reading` is a tested token's (shown, the token itself never); `errors` the tester form's.
    func tokenPage(context: Context, reading: TokenReading? = nil, errors: [String: String] = [:]) async throws -> Response {
        let user = try context.signedInUser(area: .portal)
        let settings = try await authSettings.current()
        let jwt = settings.jwt
        let sources = [
            jwt?.tokenSources?.header.map { "the \($0) header" + ($0.lowercased() == "authorization" ? " (Bearer <token>)" : "") },
            jwt?.tokenSources?.query.map { "the query parameter \($0)" }, jwt?.tokenSources?.form.map { "the form field \($0)" },
            jwt?.tokenSources?.cookie.map { "the cookie \($0)" },
        ].compactMap { $0 }
        var values: [String: Any] = [
            "jwtMode": settings.mode == .jwt,
            "userIdClaim": settings.claimsMapping.userId, "groupsClaim": settings.claimsMapping.groups,
            "emailClaim": settings.claimsMapping.email ?? "—", "tokenNameClaim": settings.claimsMapping.tokenName ?? "—",
            "issuers": ([jwt?.issuer].compactMap { $0 } + (jwt?.issuers ?? [])).joined(separator: ", "),
            "audiences": (jwt?.audiences ?? []).joined(separator: ", "),
            "algorithms": jwt?.algorithms?.joined(separator: ", ") ?? "",
            "sources": sources.isEmpty ? "the Authorization header (Bearer <token>)" : sources.joined(separator: ", then "),
            "claims": jwt?.claims ?? "",
            "seen": [
                "externalId": user.externalId ?? "", "tokenName": user.tokenName ?? "", "lastSeen": Format.date(user.lastSeenAt),
                "email": user.email,
            ],
            "seenByToken": user.externalId != nil,
            "testerAvailable": explain.isAvailable, "errors": errors,
        ]
        if let reading { values["reading"] = Self.readingValues(reading) }
        return renderer.page(
            "portal-token", title: "Tokens", values, context: context, section: "portalToken", status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    static func readingValues(_ reading: TokenReading) -> [String: Any] {
        let checks: [[String: Any]] = reading.checks.map { check in
            ["check": check.check, "outcome": check.outcome.rawValue, "passed": check.outcome == .passed, "detail": check.detail]
        }
        let apis: [[String: String]] = reading.apis.map { api in
            ["name": api.name, "limits": api.limits, "refusesThisToken": api.refusesThisToken ?? ""]
        }
        var values: [String: Any] = [
            "admitted": reading.admitted, "refusal": reading.refusal ?? "", "checks": checks, "apis": apis, "hasAPIs": !apis.isEmpty,
        ]
        if let principal = reading.principal {
            let groups = principal.groups.isEmpty ? "none" : principal.groups.joined(separator: ", ")
            values["principal"] = [
                "userId": principal.userId, "email": principal.email ?? "—", "tokenName": principal.tokenName ?? "—", "groups": groups,
            ]
        }
        return values
    }
}
