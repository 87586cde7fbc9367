import Foundation
import Logging
import NIOHTTP1
import PorticoCore

/// APIs protected by an OIDC session: a browser without one is sent to the provider, comes back to the API's
/// callback (checked as the dashboard's sign-in is) and gets a session cookie; anything else without one is a 401.
/// A known session is decided from memory.
struct OIDCAdmission: Sendable {
    let sessions: OIDCSessions
    let client: OIDCClient
    let usage: any UsageSink

    /// What the gateway does with the request.
    enum Step {
        case admitted(Admission)
        case answer(GatewayAnswer)
        case later(@Sendable () async -> Step)
    }

    static func sessionCookie(_ api: GatewayAPI) -> String { "portico_oidc_" + api.id.uuidString.prefix(8).lowercased() }
    static func flowCookie(_ api: GatewayAPI) -> String { "portico_oidc_flow_" + api.id.uuidString.prefix(8).lowercased() }

    func decide(_ request: GatewayRequest, api: GatewayAPI, route: OIDCRoute, snapshot: PolicySnapshot) -> Step {
        let path = String(request.path)
        if path == route.config.callbackPath {
            return .later { await finish(request, api: api, route: route, snapshot: snapshot) }
        }
        let cookie = CookieHeader.value(of: Self.sessionCookie(api), in: request.headers[canonicalForm: HeaderNames.cookie].map(String.init))
        let hash = cookie.flatMap { SecretFormat.session.matches($0) ? SecretHash(of: $0) : nil }
        if path == route.config.logoutPath {
            return .later { await signOut(request, api: api, route: route, session: hash) }
        }
        guard let hash else { return withoutSession(request, api: api, route: route) }
        let now = Date()
        if let session = sessions.cached(hash, now: now), session.apiId == api.id {
            guard refreshIsDue(session, route: route, now: now) else {
                return .admitted(admitted(session, hash: hash, request: request, api: api, route: route, snapshot: snapshot, now: now))
            }
            return .later { await refreshed(hash, request: request, api: api, route: route, snapshot: snapshot) }
        }
        return .later {
            guard let session = try? await sessions.load(hash), session.apiId == api.id else {
                return withoutSession(request, api: api, route: route)
            }
            guard refreshIsDue(session, route: route, now: Date()) else {
                return .admitted(admitted(session, hash: hash, request: request, api: api, route: route, snapshot: snapshot, now: Date()))
            }
            return await refreshed(hash, request: request, api: api, route: route, snapshot: snapshot)
        }
    }

    private func refreshIsDue(_ session: OIDCSession, route: OIDCRoute, now: Date) -> Bool {
        guard route.config.refresh, session.refreshToken != nil, let due = session.tokenExpiresAt else { return false }
        return due.timeIntervalSince(now) <= OIDCSessions.refreshMarginSeconds
    }

    /// The session after its tokens were refreshed (on one replica); a refused refresh ends it, and the caller is
    /// treated as having none.
    private func refreshed(_ hash: SecretHash, request: GatewayRequest, api: GatewayAPI, route: OIDCRoute, snapshot: PolicySnapshot) async -> Step {
        let client = client
        let session = try? await sessions.refresh(hash) { refreshToken in
            let tokens = try await client.refresh(
                refreshToken, provider: route.provider, metadata: route.metadata, clientSecret: try client.clientSecret(of: route.provider))
            return (tokens.refreshToken ?? refreshToken, Date().addingTimeInterval(TimeInterval(tokens.expiresIn ?? 300)))
        }
        guard let session else { return withoutSession(request, api: api, route: route) }
        return .admitted(admitted(session, hash: hash, request: request, api: api, route: route, snapshot: snapshot, now: Date()))
    }

    /// A browser asking for a page is sent to sign in; an API client gets a 401.
    private func withoutSession(_ request: GatewayRequest, api: GatewayAPI, route: OIDCRoute) -> Step {
        let accept = request.headers[canonicalForm: "accept"].joined(separator: ",")
        guard request.method == "GET", accept.contains("text/html") else { return .answer(GatewayError.signInRequired(api: api.name).answer) }
        return .later { await start(request, api: api, route: route) }
    }

    private func start(_ request: GatewayRequest, api: GatewayAPI, route: OIDCRoute) async -> Step {
        let authorization = AuthorizationRequest.random()
        let flowCookieName = Self.flowCookie(api)
        let existing = CookieHeader.value(of: flowCookieName, in: request.headers[canonicalForm: HeaderNames.cookie].map(String.init))
        let browser = existing.flatMap { SecretFormat.signInFlow.matches($0) ? $0 : nil } ?? SecretFormat.signInFlow.generate().secret
        let flow = OIDCFlow(
            apiId: api.id, browserHash: SecretHash(of: browser), nonce: authorization.nonce, codeVerifier: authorization.codeVerifier,
            returnTo: request.target)
        do {
            try await sessions.store.startFlow(flow, stateHash: SecretHash(of: authorization.state))
        } catch {
            return .answer(GatewayError.authUnavailable.answer)
        }
        let location = authorization.url(
            provider: route.provider, metadata: route.metadata, redirectURI: Self.origin(of: request) + route.config.callbackPath,
            scopes: route.config.scopes)
        var answer = Self.redirect(to: location)
        if existing != browser {
            answer.headers.add(
                name: "Set-Cookie", value: Self.cookie(flowCookieName, browser, path: route.config.callbackPath, maxAge: 600, request: request))
        }
        return .answer(answer)
    }

    /// The callback: the flow taken (once), the code exchanged, the ID token and UserInfo checked, a session made.
    private func finish(_ request: GatewayRequest, api: GatewayAPI, route: OIDCRoute, snapshot: PolicySnapshot) async -> Step {
        var parameters: [String: String] = [:]
        for pair in URLEncodedForm.pairs(in: request.query ?? "") where parameters[pair.name] == nil { parameters[pair.name] = pair.value }
        let browser = CookieHeader.value(of: Self.flowCookie(api), in: request.headers[canonicalForm: HeaderNames.cookie].map(String.init))
        guard let state = parameters["state"], let flow = try? await sessions.store.takeFlow(stateHash: SecretHash(of: state)),
            flow.apiId == api.id
        else { return .answer(Self.private(GatewayError.signInFlowInvalid("this sign-in is unknown, expired or already finished").answer)) }
        guard let browser, SecretHash(of: browser) == flow.browserHash else {
            return .answer(Self.private(GatewayError.signInFlowInvalid("this sign-in was started in another browser").answer))
        }
        let name = route.provider.name
        let code: String
        switch AuthorizationResponse(parameters, provider: route.provider, metadata: route.metadata) {
        case .code(let answered): code = answered
        case .refused(let reason): return .answer(Self.private(GatewayError.signInRefused(reason).answer))
        case .malformed(let reason): return .answer(Self.private(GatewayError.signInFlowInvalid(reason).answer))
        }
        let claims: [String: JSONValue]
        let idToken: String
        var refresh: (token: String, expiresAt: Date)?
        do {
            let signedIn = try await client.signIn(
                code: code, codeVerifier: flow.codeVerifier, nonce: flow.nonce, redirectURI: Self.origin(of: request) + route.config.callbackPath,
                provider: route.provider, metadata: route.metadata)
            (claims, idToken) = (signedIn.claims, signedIn.tokens.idToken)
            if route.config.refresh, let refreshToken = signedIn.tokens.refreshToken {
                refresh = (refreshToken, Date().addingTimeInterval(TimeInterval(signedIn.tokens.expiresIn ?? 300)))
            }
        } catch let failure as OIDCClient.Failure {
            switch failure {
            case .unavailable(let reason):
                return .answer(Self.private(GatewayError.identityProviderUnavailable(provider: name, reason: reason).answer))
            case .refused(let reason): return .answer(Self.private(GatewayError.signInRefused(reason).answer))
            }
        } catch {
            return .answer(Self.private(GatewayError.identityProviderUnavailable(provider: name, reason: "\(error)").answer))
        }
        guard case .mapped(let principal) = route.provider.mapping.principal(from: claims) else {
            return .answer(Self.private(GatewayError.signInRefused("the ID token has no '\(route.provider.mapping.userId)' claim").answer))
        }
        let externalId = route.provider.issuer + "|" + principal.userId
        if snapshot.isDisabled(externalUserId: externalId) {
            return .answer(Self.private(GatewayError.signInRefused("the user is disabled").answer))
        }
        let secret = SecretFormat.session.generate()
        let session = OIDCSession(
            apiId: api.id, externalId: externalId, claims: claims, idToken: idToken,
            expiresAt: Date().addingTimeInterval(TimeInterval(route.config.expirySeconds)), refreshToken: refresh?.token,
            tokenExpiresAt: refresh?.expiresAt)
        do {
            try await sessions.store.create(session, idHash: secret.hash)
        } catch {
            return .answer(Self.private(GatewayError.authUnavailable.answer))
        }
        sessions.remember(session, as: secret.hash)
        var answer = Self.private(Self.redirect(to: flow.returnTo))
        answer.headers.add(
            name: "Set-Cookie",
            value: Self.cookie(
                Self.sessionCookie(api), secret.secret, path: api.pathPrefix, maxAge: route.config.sliding ? nil : route.config.expirySeconds,
                request: request))
        answer.headers.add(
            name: "Set-Cookie", value: Self.cookie(Self.flowCookie(api), "", path: route.config.callbackPath, maxAge: 0, request: request))
        return .answer(answer)
    }

    /// Ends the session on every replica, then the provider's (when it has an end-session endpoint).
    private func signOut(_ request: GatewayRequest, api: GatewayAPI, route: OIDCRoute, session hash: SecretHash?) async -> Step {
        var idToken: String?
        if let hash {
            idToken = sessions.cached(hash, now: Date())?.idToken
            if idToken == nil { idToken = try? await sessions.load(hash)?.idToken }
            do {
                try await sessions.end(hash)
            } catch {
                return .answer(GatewayError.authUnavailable.answer)
            }
        }
        let origin = Self.origin(of: request)
        let after = route.config.postLogoutRedirect.map { $0.hasPrefix("/") ? origin + $0 : $0 } ?? origin + api.pathPrefix
        let location =
            route.metadata.endSessionURL(idTokenHint: idToken, postLogoutRedirect: after, clientId: route.provider.clientId) ?? after
        var answer = Self.private(Self.redirect(to: location))
        answer.headers.add(name: "Set-Cookie", value: Self.cookie(Self.sessionCookie(api), "", path: api.pathPrefix, maxAge: 0, request: request))
        return .answer(answer)
    }

    /// A session's request: its principal (the provider's claims mapping), the claims expression, forwarded claims,
    /// and the session cookie kept from the upstream.
    private func admitted(
        _ session: OIDCSession, hash: SecretHash, request: GatewayRequest, api: GatewayAPI, route: OIDCRoute, snapshot: PolicySnapshot, now: Date
    ) -> Admission {
        var changes = UpstreamRequestChanges()
        changes.removedCookie = Self.sessionCookie(api)
        for forward in route.config.forwardHeaders { changes.removedHeaders.insert(forward.header.lowercased()) }
        let principal: JWTPrincipal
        switch route.provider.mapping.principal(from: session.claims) {
        case .noUserId(let claim): return .refused(.invalidCredential("the session has no '\(claim)' claim"))
        case .mapped(let mapped):
            principal = JWTPrincipal(
                userId: route.provider.issuer + "|" + mapped.userId, email: mapped.email, tokenName: mapped.tokenName, groups: mapped.groups)
        }
        if snapshot.isDisabled(externalUserId: principal.userId) {
            sessions.forget(hash)
            return .refused(.invalidCredential("the session's user is disabled"))
        }
        if let expression = route.config.expression, !expression.evaluate(session.claims) { return .refused(.claimsMismatch) }
        guard !principal.groups.isEmpty else { return .refused(.noGroups(claim: route.provider.mapping.groups.description)) }
        for forward in route.config.forwardHeaders {
            let value = forward.claim.value(in: session.claims)?.scalarTexts.joined(separator: ",") ?? ""
            guard !value.isEmpty, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { continue }
            changes.addedHeaders.append((forward.header, value))
        }
        if route.config.sliding { sessions.slide(hash, session: session, window: TimeInterval(route.config.expirySeconds), now: now) }
        usage.tokenUserSeen(UserSighting(externalId: principal.userId, email: principal.email, tokenName: principal.tokenName, seenAt: now))
        let label = snapshot.auth.jwt?.usernameClaim?.value(in: session.claims)?.scalarText
        return .admitted(Consumer(id: principal.consumerId, groups: principal.groups, label: label), changes)
    }

    /// The origin the browser used: TLS the gateway terminated or `X-Forwarded-Proto: https` from a proxy that did,
    /// and the Host it sent (the provider only accepts registered redirect URIs, so a forged Host gains nothing).
    static func origin(of request: GatewayRequest) -> String {
        (isSecure(request) ? "https://" : "http://") + (request.authority ?? "localhost")
    }

    static func isSecure(_ request: GatewayRequest) -> Bool {
        request.secure || request.headers[canonicalForm: HeaderNames.forwardedProto].first == "https"
    }

    /// A sliding session's cookie has no Max-Age: the browser keeps it while it runs, the gateway decides when it ends.
    static func cookie(_ name: String, _ value: String, path: String, maxAge: Int?, request: GatewayRequest) -> String {
        let secure = isSecure(request)
        return "\(name)=\(value); Path=\(path)" + (maxAge.map { "; Max-Age=\($0)" } ?? "") + "; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    static func redirect(to location: String) -> GatewayAnswer {
        GatewayAnswer(status: .found, headers: HTTPHeaders([("Location", location)]), body: .init(), step: DecisionStep.credential.rawValue)
    }

    /// The callback's answers carry a code in their URL: never cached, never sent on as a Referer.
    static func `private`(_ answer: GatewayAnswer) -> GatewayAnswer {
        var answer = answer
        answer.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        answer.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        return answer
    }
}
