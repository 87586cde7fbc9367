import Foundation
import Logging
import NIOHTTP1
import PorticoCore

/// Who is calling, as far as access and rate limits are concerned.
struct Consumer: Sendable {
    let id: UUID
    let groups: [String]
    /// For logs and the per-user metric (`usernameClaim`).
    let label: String?
    /// The application of the key that admitted the call, for the usage records.
    var application: UUID? = nil
}

enum Admission: Sendable {
    case admitted(Consumer, UpstreamRequestChanges)
    case refused(GatewayError)
}

/// API-key mode: the bearer credential must be an active key of an enabled user.
struct KeyAdmission: Sendable {
    let usage: any UsageSink
    let passes: TryItAdmission

    func admit(_ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot, nowMillis: Int64) -> Admission {
        guard let credential = BearerCredential(request.headers.first(name: HeaderNames.authorization)) else {
            return passes.admit(request, api: api, snapshot: snapshot, now: nowMillis / 1000) ?? .refused(.missingCredential)
        }
        switch snapshot.authenticate(apiKey: credential.token, nowMillis: nowMillis) {
        case .rejected(let reason):
            request.trace?.check("key", .failed, reason)
            return .refused(.invalidCredential(reason))
        case .accepted(let consumer, let grant):
            let keyId = grant.keyId
            if let scopes = grant.scopes, !scopes.contains(api.id) {
                let names = snapshot.structure.apis.filter { scopes.contains($0.id) }.map(\.name).sorted()
                request.trace?.check("scope", .failed, GatewayError.keyScope(api: api.name, scopes: names).message)
                return .refused(.keyScope(api: api.name, scopes: names))
            }
            if let trace = request.trace {
                trace.check("key", .passed, "key \(keyId.headerText) of user \(consumer.userId.headerText), active")
                if grant.scopes != nil { trace.check("scope", .passed, "the key's scopes include API '\(api.name)'") }
            } else {
                usage.keyUsed(keyId)
            }
            // The key stays here unless the API asks for it: whoever runs an upstream must not harvest keys.
            var changes = UpstreamRequestChanges()
            changes.removesAuthorization = !api.forwardCredential
            CallerHeaders.add(user: consumer.userId.headerText, groups: consumer.groups, to: &changes)
            changes.addedHeaders.append((HeaderNames.porticoKeyId, keyId.headerText))
            return .admitted(Consumer(id: consumer.userId, groups: consumer.groups, label: nil, application: grant.applicationId), changes)
        }
    }
}

/// The portal's try-it console calls through its own gateway with a pass (`TryItPass`) instead of a credential:
/// the consumer it names is admitted in the groups it names, in either auth mode. Looked at only when a request
/// brings no credential, so the calls that do pay nothing for it.
struct TryItAdmission: Sendable {
    /// nil in a gateway without a portal of its own (`portico gateway`): it accepts no pass.
    let signer: TryItPassSigner?

    /// The admission a pass decides, or nil when the request brings none.
    func admit(_ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot, now: Int64) -> Admission? {
        guard let text = request.headers.first(name: HeaderNames.porticoTryIt) else { return nil }
        guard let signer else { return .refused(.invalidCredential("this gateway runs without a portal and accepts no try-it pass")) }
        let pass: TryItPass
        switch signer.verify(text, now: now) {
        case .failure(let refusal): return .refused(.invalidCredential(refusal.description))
        case .success(let verified): pass = verified
        }
        guard pass.apiId == api.id else { return .refused(.invalidCredential("the try-it pass is for another API")) }
        guard !snapshot.isDisabled(userId: pass.userId), !snapshot.isDisabled(externalUserId: pass.caller) else {
            return .refused(.invalidCredential("the try-it pass's user is disabled"))
        }
        var changes = UpstreamRequestChanges()
        changes.removesAuthorization = true
        CallerHeaders.add(user: pass.caller, groups: pass.groups, to: &changes)
        return .admitted(Consumer(id: pass.consumerId, groups: pass.groups, label: nil), changes)
    }
}

/// The headers that tell an upstream who is calling: the gateway's own, never a client's.
enum CallerHeaders {
    static func add(user: String, groups: [String], to changes: inout UpstreamRequestChanges) {
        if isSafe(user) { changes.addedHeaders.append((HeaderNames.porticoUser, user)) }
        let joined = groups.filter { !$0.contains(",") }.joined(separator: ",")
        if !joined.isEmpty, isSafe(joined) { changes.addedHeaders.append((HeaderNames.porticoGroups, joined)) }
    }

    /// A value from a token cannot smuggle a second header line in.
    static func isSafe(_ value: String) -> Bool {
        !value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}

/// JWT mode: token from the configured sources, verified, mapped onto a principal, checked against the claims
/// expression, with claims forwarded as headers. `strictness` decides what a missing or bad token means.
///
/// `admitNow` decides without suspending when it can (the verifier is built and the token was verified before);
/// otherwise it says what it needs: the form body, or `admit`, which may fetch keys and verify.
struct TokenAdmission: Sendable {
    let verifiers: JWTVerifierCache
    let passes: TryItAdmission
    /// Verifiers of the identity providers JWT mode trusts (`PolicySnapshot.trustedIssuers`).
    let issuers: IssuerVerifiers
    let usage: any UsageSink

    enum Step {
        case done(Admission)
        case needsFormBody
        case needsVerification
    }

    /// The token and what it changes upstream, or a decision already (no token, or a form body to read first).
    private enum Prepared {
        case token(TokenExtractor.Found, JWTConfig, UpstreamRequestChanges)
        case decided(Admission)
        case needsFormBody
    }

    func admitNow(_ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot, now: Double) -> Step {
        let found: TokenExtractor.Found
        let config: JWTConfig
        var changes: UpstreamRequestChanges
        switch prepare(request, api: api, snapshot: snapshot) {
        case .decided(let admission): return .done(admission)
        case .needsFormBody: return .needsFormBody
        case .token(let token, let jwt, let prepared): (found, config, changes) = (token, jwt, prepared)
        }
        // A provider's token verified lately is decided at once; its first use is verified in `admit`.
        for trusted in snapshot.trustedIssuers.values {
            if let verifier = issuers.ready(trusted), let claims = verifier.remembered(found.token, now: now) {
                guard api.acceptsTokens(ofIssuer: trusted.issuer) else { return .done(refuse(narrowed(api), config, request, changes)) }
                return .done(
                    admitted(
                        claims, config: config, mapping: trusted.mapping, issuer: trusted.issuer, snapshot: snapshot, request: request,
                        changes: &changes))
            }
        }
        // An API narrowed to some providers, or JWT mode without keys of its own, never admits by the JWT settings' keys.
        guard api.tokenIssuers == nil, config.keySource != nil, let verifier = verifiers.readyVerifier(version: snapshot.authVersion) else {
            return .needsVerification
        }
        if SecretFormat.apiKey.matches(found.token) {
            return .done(refuse(.invalidCredential(GatewayError.apiKeyInJWTMode), config, request, changes))
        }
        guard let claims = verifier.remembered(found.token, now: now) else { return .needsVerification }
        return .done(admitted(claims, config: config, mapping: snapshot.auth.mapping, snapshot: snapshot, request: request, changes: &changes))
    }

    func admit(_ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot, now: Double, logger: Logger) async -> Admission {
        let found: TokenExtractor.Found
        let config: JWTConfig
        var changes: UpstreamRequestChanges
        switch prepare(request, api: api, snapshot: snapshot) {
        case .decided(let admission): return admission
        case .needsFormBody: return .refused(.formTooLarge)
        case .token(let token, let jwt, let prepared): (found, config, changes) = (token, jwt, prepared)
        }
        if SecretFormat.apiKey.matches(found.token) { return refuse(.invalidCredential(GatewayError.apiKeyInJWTMode), config, request, changes) }
        let issuer = snapshot.trustedIssuers.isEmpty ? nil : try? CompactJWS(found.token).unverifiedIssuer()
        if let issuer, let trusted = snapshot.trustedIssuers[issuer] {
            guard api.acceptsTokens(ofIssuer: issuer) else { return refuse(narrowed(api), config, request, changes) }
            return await admit(
                found.token, of: trusted, config: config, snapshot: snapshot, request: request, changes: changes, now: now, logger: logger)
        }
        guard api.tokenIssuers == nil else { return refuse(narrowed(api), config, request, changes) }
        if let issuer, config.keySource == nil || (!config.rules.issuers.isEmpty && !config.rules.issuers.contains(issuer)) {
            return refuse(.invalidCredential("the token's issuer '\(issuer)' is unknown"), config, request, changes)
        }
        if config.keySource == nil {
            return refuse(.invalidCredential("the token names no issuer (iss) that this gateway trusts"), config, request, changes)
        }
        let verifier: JWTVerifier
        switch await verifiers.verifier(version: snapshot.authVersion, config: config) {
        case .success(let built): verifier = built
        case .failure: return refuse(.authUnavailable, config, request, changes)
        }
        switch await verifier.verify(found.token, now: now, trace: request.trace) {
        case .rejected(let rejection):
            return refuse(.invalidCredential(rejection.reason), config, request, changes)
        case .unavailable(let reason):
            logger.warning("token keys unavailable", metadata: ["reason": "\(reason)"])
            return refuse(.jwksUnavailable(provider: config.keySource?.jwksHost ?? "jwt"), config, request, changes)
        case .verified(let claims):
            return admitted(claims, config: config, mapping: snapshot.auth.mapping, snapshot: snapshot, request: request, changes: &changes)
        }
    }

    /// A token of a trusted identity provider: its keys, algorithms, issuer, audiences and claims mapping apply.
    private func admit(
        _ token: String, of trusted: TrustedIssuer, config: JWTConfig, snapshot: PolicySnapshot, request: GatewayRequest,
        changes: UpstreamRequestChanges, now: Double, logger: Logger
    ) async -> Admission {
        var changes = changes
        let verifier: JWTVerifier
        do {
            verifier = try await issuers.verifier(for: trusted)
        } catch {
            logger.warning("identity provider verifier unavailable", metadata: ["provider": "\(trusted.name)", "reason": "\(error)"])
            return refuse(.jwksUnavailable(provider: trusted.name), config, request, changes)
        }
        request.trace?.check("issuer", .passed, "a token of identity provider '\(trusted.name)' (\(trusted.issuer))")
        switch await verifier.verify(token, now: now, trace: request.trace) {
        case .rejected(let rejection):
            return refuse(.invalidCredential(rejection.reason), config, request, changes)
        case .unavailable(let reason):
            logger.warning("identity provider keys unavailable", metadata: ["provider": "\(trusted.name)", "reason": "\(reason)"])
            return refuse(.jwksUnavailable(provider: trusted.name), config, request, changes)
        case .verified(let claims):
            return admitted(
                claims, config: config, mapping: trusted.mapping, issuer: trusted.issuer, snapshot: snapshot, request: request, changes: &changes)
        }
    }

    /// An API that accepts only some providers' tokens names their issuers to a token from elsewhere.
    private func narrowed(_ api: GatewayAPI) -> GatewayError {
        let issuers = (api.tokenIssuers ?? []).map { "'\($0)'" }.joined(separator: ", ")
        return .invalidCredential("API '\(api.name)' accepts only tokens issued by \(issuers)")
    }

    private func prepare(_ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> Prepared {
        guard let config = snapshot.auth.jwt else { return .decided(.refused(.authUnavailable)) }
        var changes = UpstreamRequestChanges()
        // Whatever the outcome, a client cannot send a header the gateway sets from claims.
        for forward in config.forwardHeaders { changes.removedHeaders.insert(forward.header.lowercased()) }
        let found: TokenExtractor.Found
        switch TokenExtractor(sources: config.tokenSources).extract(from: request) {
        case .needsFormBody:
            return .needsFormBody
        case .none:
            if let admission = passes.admit(request, api: api, snapshot: snapshot, now: Int64(Date().timeIntervalSince1970)) {
                return .decided(admission)
            }
            return .decided(config.strictness == .strict ? .refused(.missingCredential) : .admitted(anonymous(config, request), changes))
        case .found(let token):
            found = token
        }
        if case .query(let name) = found.source { changes.query = .some(URLEncodedForm.removing(name, from: request.query ?? "")) }
        // The token stays here unless the API asks for it (`stripAuthorizationHeader` keeps it here even then).
        if !api.forwardCredential || config.stripAuthorizationHeader {
            switch found.source {
            case .header(let name) where name.equalsIgnoringASCIICase(HeaderNames.authorization): changes.removesAuthorization = true
            case .header(let name): changes.removedHeaders.insert(name.lowercased())
            case .cookie(let name): changes.removedCookie = name
            case .query, .form: break
            }
        }
        return .token(found, config, changes)
    }

    private func anonymous(_ config: JWTConfig, _ request: GatewayRequest) -> Consumer {
        Consumer(
            id: JWTPrincipal.anonymousConsumerId(address: request.clientAddress ?? "unknown"), groups: [config.anonymousGroup], label: nil)
    }

    private func refuse(_ error: GatewayError, _ config: JWTConfig, _ request: GatewayRequest, _ changes: UpstreamRequestChanges) -> Admission {
        guard config.strictness == .permissive else { return .refused(error) }
        request.trace?.check(
            "strictness", .passed, "permissive: admitted as anonymous, in group '\(config.anonymousGroup)', instead of refused (\(error.message))")
        return .admitted(anonymous(config, request), changes)
    }

    /// `issuer` is set for a trusted provider's token: its user is then known as `issuer|userId`, since a user id is
    /// only unique within its issuer (OpenID Connect Core §2), and two providers must not share accounts.
    private func admitted(
        _ claims: [String: JSONValue], config: JWTConfig, mapping: CompiledClaimsMapping, issuer: String? = nil, snapshot: PolicySnapshot,
        request: GatewayRequest, changes: inout UpstreamRequestChanges
    ) -> Admission {
        var principal: JWTPrincipal
        switch mapping.principal(from: claims) {
        case .noUserId(let claim):
            request.trace?.check("claims mapping", .failed, "the token has no '\(claim)' claim")
            return refuse(.invalidCredential("the token has no '\(claim)' claim"), config, request, changes)
        case .mapped(let mapped): principal = mapped
        }
        if let issuer {
            principal = JWTPrincipal(
                userId: issuer + "|" + principal.userId, email: principal.email, tokenName: principal.tokenName, groups: principal.groups)
        }
        if let trace = request.trace {
            trace.principal = principal
            trace.check(
                "claims mapping", .passed,
                "user id '\(principal.userId)', email \(principal.email.map { "'\($0)'" } ?? "none"), token name \(principal.tokenName.map { "'\($0)'" } ?? "none"), groups \(GatewayDecider.listed(principal.groups))"
            )
        }
        if let expression = config.expression {
            let failing = expression.failingPart(claims)
            request.trace?.check(
                "claims expression", failing == nil ? .passed : .failed,
                failing.map { "\($0) is not satisfied, so \(expression) is not" } ?? "\(expression) is satisfied")
            if failing != nil { return refuse(.claimsMismatch, config, request, changes) }
        }
        if snapshot.isDisabled(externalUserId: principal.userId) {
            request.trace?.check("user", .failed, "the token's user is disabled")
            return refuse(.invalidCredential("the token's user is disabled"), config, request, changes)
        }
        guard !principal.groups.isEmpty else {
            request.trace?.check("groups", .failed, GatewayError.noGroups(claim: mapping.groups.description).message)
            return refuse(.noGroups(claim: mapping.groups.description), config, request, changes)
        }
        for forward in config.forwardHeaders {
            let value = forward.claim.value(in: claims)?.scalarTexts.joined(separator: ",") ?? ""
            guard !value.isEmpty, CallerHeaders.isSafe(value) else { continue }
            changes.addedHeaders.append((forward.header, value))
        }
        CallerHeaders.add(user: principal.userId, groups: principal.groups, to: &changes)
        if request.trace == nil {
            usage.tokenUserSeen(
                UserSighting(externalId: principal.userId, email: principal.email, tokenName: principal.tokenName, seenAt: Date()))
        }
        let label = config.usernameClaim?.value(in: claims)?.scalarText
        return .admitted(Consumer(id: principal.consumerId, groups: principal.groups, label: label), changes)
    }
}
