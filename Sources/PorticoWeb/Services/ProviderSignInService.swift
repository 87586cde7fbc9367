import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import PostgresNIO

/// Signing in to the dashboard or the portal through an identity provider: the authorization code flow with PKCE,
/// `state` and `nonce` per flow and bound to the browser, the ID token and UserInfo checked, the user created on
/// first sign-in and their groups and role synced from the provider's claims at every sign-in.
public struct ProviderSignInService: Sendable {
    let store: AdminStore
    let sessions: SignInService
    let client: OIDCClient
    /// Seals the ID token a session keeps for the provider's sign-out; without a key none is kept.
    let box: SecretBox?
    let flows: SignInFlowRepository
    /// Portico's own origin as browsers reach it, for the redirect URIs registered at the providers.
    let publicURL: String

    public init(store: AdminStore, sessions: SignInService, secretBox: SecretBox?, publicURL: String) {
        self.store = store
        self.sessions = sessions
        self.box = secretBox
        self.client = OIDCClient(verifiers: JWTVerifierFactory(resolver: SecretResolver(box: secretBox), logger: store.database.logger))
        self.flows = SignInFlowRepository(logger: store.database.logger)
        var origin = publicURL
        while origin.hasSuffix("/") { origin.removeLast() }
        self.publicURL = origin
    }

    /// Where the dashboard or the portal is signed into.
    public enum Area: String, Sendable {
        case dashboard, portal
    }

    /// The exact redirect URI of a provider, one per provider whatever the area: register it at the provider.
    public func redirectURI(provider name: String) -> String {
        publicURL + "/oidc/" + URLEncodedForm.encode(name) + "/callback"
    }

    /// The names of the providers offered on an area's sign-in page.
    public func choices(for area: Area) async throws -> [String] {
        try await store.read { try await store.identityProviders.list(on: $0) }
            .filter { area == .dashboard ? $0.settings.signIn?.dashboard == true : $0.settings.signIn?.portal == true }
            .map(\.settings.name)
    }

    /// Starts a flow: stores it under its state, bound to the browser's flow cookie, and says where to send the
    /// browser. Nothing is asked of the provider yet, so this works while it is down.
    public func start(provider name: String, area: Area, returnTo: String?, browserSecret: String) async throws -> String {
        let (provider, config) = try await signInProvider(named: name, area: area)
        let request = AuthorizationRequest.random()
        let flow = SignInFlowRepository.Flow(
            browserHash: SecretHash(of: browserSecret), providerId: provider.id, area: area.rawValue, returnTo: returnTo, nonce: request.nonce,
            codeVerifier: request.codeVerifier)
        try await store.read { try await flows.start(flow, stateHash: SecretHash(of: request.state), on: $0) }
        return request.url(provider: config, metadata: provider.metadata, redirectURI: redirectURI(provider: config.name))
    }

    /// A finished sign-in: the user, the new session's cookie secret, and where to send the browser.
    public struct SignedIn: Sendable {
        public let user: User
        public let cookieSecret: String
        public let area: Area
        public let returnTo: String?
    }

    /// Finishes the flow the provider sent the browser back with (`parameters` are the callback's query).
    public func finish(provider name: String, parameters: [String: String], browserSecret: String?) async throws -> SignedIn {
        guard let state = parameters["state"], !state.isEmpty else {
            throw PorticoError.malformed("the provider's answer has no state; start the sign-in again")
        }
        let taken = try await store.read { try await flows.take(stateHash: SecretHash(of: state), on: $0) }
        guard let flow = taken else {
            throw PorticoError.malformed("this sign-in is unknown, expired or already finished; start it again")
        }
        guard let browserSecret, SecretHash(of: browserSecret) == flow.browserHash else {
            throw PorticoError.malformed("this sign-in was started in another browser; start it again here")
        }
        let area = Area(rawValue: flow.area) ?? .portal
        let (provider, config) = try await signInProvider(named: name, area: area)
        guard provider.id == flow.providerId else {
            throw PorticoError.malformed("this sign-in was started with another identity provider; start it again")
        }
        let code: String
        switch AuthorizationResponse(parameters, provider: config, metadata: provider.metadata) {
        case .code(let answered): code = answered
        case .refused(let reason): throw PorticoError.unauthenticated(reason)
        case .malformed(let reason): throw PorticoError.malformed(reason)
        }
        let claims = try await verifiedClaims(code: code, flow: flow, provider: provider, config: config)
        let user = try await syncUser(claims: claims, provider: provider, config: config)
        let cookieSecret = try await store.database.transaction { connection in
            try await sessions.startSession(for: user.user, provider: (provider.id, try? box?.seal(user.idToken)), on: connection)
        }
        // Admins get the dashboard; anyone else the portal, whichever sign-in page they started from.
        let landing: Area = user.user.role == .admin ? area : .portal
        return SignedIn(user: user.user, cookieSecret: cookieSecret, area: landing, returnTo: landing == area ? flow.returnTo : nil)
    }

    /// Where to send the browser after Portico's own sign-out: the provider's end-session endpoint when it has one
    /// (OpenID Connect RP-Initiated Logout), coming back to `returnPath` on Portico.
    public func providerSignOut(providerId: UUID, sealedIdToken: String?, returnPath: String) async throws -> (provider: String, location: String)? {
        let provider = try await store.read { try await store.identityProviders.find(providerId, on: $0) }
        guard let provider else { return nil }
        let idToken = sealedIdToken.flatMap { sealed in try? box?.open(sealed) }
        let location = provider.metadata.endSessionURL(
            idTokenHint: idToken, postLogoutRedirect: publicURL + returnPath, clientId: provider.settings.clientId)
        return location.map { (provider.settings.name, $0) }
    }

    private func signInProvider(named name: String, area: Area) async throws -> (IdentityProvider, IdentityProviderConfig) {
        let providers = try await store.read { try await store.identityProviders.list(on: $0) }
        guard let provider = providers.first(where: { $0.settings.name == name }) else { throw PorticoError.notFound("identity provider \(name)") }
        let config = try provider.settings.compiled()
        guard area == .dashboard ? config.signInDashboard : config.signInPortal else {
            throw PorticoError.forbidden("identity provider '\(name)' is not used to sign in to the \(area == .dashboard ? "dashboard" : "portal")")
        }
        return (provider, config)
    }

    /// The code exchanged, the ID token verified, and UserInfo's claims added to it (the ID token's win).
    private func verifiedClaims(
        code: String, flow: SignInFlowRepository.Flow, provider: IdentityProvider, config: IdentityProviderConfig
    ) async throws -> (claims: [String: JSONValue], idToken: String) {
        let name = config.name
        do {
            let signedIn = try await client.signIn(
                code: code, codeVerifier: flow.codeVerifier, nonce: flow.nonce, redirectURI: redirectURI(provider: name), provider: config,
                metadata: provider.metadata)
            return (signedIn.claims, signedIn.tokens.idToken)
        } catch let failure as OIDCClient.Failure {
            switch failure {
            case .unavailable(let reason): throw PorticoError.unavailable("identity provider '\(name)' is unavailable: \(reason)")
            case .refused(let reason): throw PorticoError.unauthenticated("sign-in through '\(name)' was refused: \(reason)")
            }
        }
    }

    /// The user known by (issuer, user id), created on first sign-in; groups and role follow the provider's claims.
    private func syncUser(
        claims verified: (claims: [String: JSONValue], idToken: String), provider: IdentityProvider, config: IdentityProviderConfig
    ) async throws -> (user: User, idToken: String) {
        let principal: JWTPrincipal
        switch config.mapping.principal(from: verified.claims) {
        case .noUserId(let claim): throw PorticoError.unauthenticated("the ID token of '\(config.name)' has no '\(claim)' claim")
        case .mapped(let mapped): principal = mapped
        }
        let externalId = config.issuer + "|" + principal.userId
        let groups = principal.groups.filter { (try? Validation.identifier($0)) != nil }.sorted()
        let role: Role = groups.contains(where: config.adminGroups.contains) ? .admin : .consumer
        let name = verified.claims["name"]?.string ?? ""
        let actor = Actor(id: nil, label: "identity provider \(config.name)")
        let user = try await store.database.transaction { connection in
            var before = try await store.users.find(externalId: externalId, on: connection)
            if let existing = before, existing.disabled {
                throw PorticoError.forbidden("the account \(existing.email.isEmpty ? externalId : existing.email) is disabled")
            }
            if before == nil {
                var email = principal.email ?? ""
                if !email.isEmpty, try await store.users.emailTaken(email, on: connection) { email = "" }
                let created = try await store.users.create(NewUser(email: email, name: name, role: role, externalId: externalId), on: connection)
                try await store.audit.record(
                    "user.create", entity: "user", id: created.id.uuidString, before: User?.none, after: created, by: actor, on: connection)
                before = created
            }
            guard var user = before else { throw PorticoError.conflict("the user was not created") }
            let unchanged = user.role == role && user.groups == groups
            if !unchanged {
                user.role = role
                try await store.users.update(user, on: connection)
                try await store.users.setGroups(try await store.groups.ensure(named: groups, on: connection), of: user.id, on: connection)
                let after = try await store.users.require(user.id, on: connection)
                try await store.audit.record(
                    "user.sync", entity: "user", id: user.id.uuidString, before: before, after: after, by: actor, on: connection)
                user = after
            }
            return user
        }
        return (user, verified.idToken)
    }
}
