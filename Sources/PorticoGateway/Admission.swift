import Foundation
import Hummingbird
import PorticoCore

/// Who is calling, as far as access and rate limits are concerned.
struct Consumer: Sendable {
    let id: UUID
    let groups: [String]
    /// For logs and the per-user metric (`usernameClaim`).
    let label: String?
}

enum Admission {
    case admitted(Consumer, UpstreamRequestChanges)
    case refused(GatewayError)
}

/// API-key mode: the bearer credential must be an active key of an enabled user.
struct KeyAdmission {
    let usage: KeyUsageRecorder

    func admit(_ request: Request, snapshot: PolicySnapshot) -> Admission {
        guard let credential = BearerCredential(request.headers[.authorization]) else { return .refused(.missingCredential) }
        switch snapshot.authenticate(apiKey: credential.token, nowMillis: Int64(Date().timeIntervalSince1970 * 1000)) {
        case .rejected(let reason):
            return .refused(.invalidCredential(reason))
        case .accepted(let consumer, let keyId):
            usage.record(keyId)
            return .admitted(Consumer(id: consumer.userId, groups: consumer.groups, label: nil), UpstreamRequestChanges())
        }
    }
}

/// JWT mode: token from the configured sources, verified, mapped onto a principal, checked against the claims
/// expression, with claims forwarded as headers. `strictness` decides what a missing or bad token means.
struct TokenAdmission {
    let verifiers: JWTVerifierCache
    let sightings: SightingRecorder

    func admit(_ request: inout Request, snapshot: PolicySnapshot, context: GatewayRequestContext) async -> Admission {
        guard let config = snapshot.auth.jwt else { return .refused(.authUnavailable) }
        var changes = UpstreamRequestChanges()
        // Whatever the outcome, a client cannot send a header the gateway sets from claims.
        for forward in config.forwardHeaders { changes.removedHeaders.insert(forward.header.lowercased()) }

        let found: TokenExtractor.Found?
        do {
            found = try await TokenExtractor(sources: config.tokenSources).extract(from: &request, context: context)
        } catch {
            return .refused(.formTooLarge)
        }
        if let found {
            if case .query(let name) = found.source { changes.query = .some(URLEncodedForm.removing(name, from: request.uri.query ?? "")) }
            if config.stripAuthorizationHeader, case .header(let name) = found.source { changes.removedHeaders.insert(name.lowercased()) }
        }
        let anonymous = Consumer(
            id: JWTPrincipal.anonymousConsumerId(address: context.remoteAddress?.ipAddress ?? "unknown"),
            groups: [config.anonymousGroup], label: nil)
        func refuse(_ error: GatewayError) -> Admission {
            config.strictness == .permissive ? .admitted(anonymous, changes) : .refused(error)
        }
        guard let found else {
            return config.strictness == .strict ? .refused(.missingCredential) : .admitted(anonymous, changes)
        }

        let verifier: JWTVerifier
        switch await verifiers.verifier(version: snapshot.authVersion, config: config) {
        case .success(let built): verifier = built
        case .failure: return refuse(.authUnavailable)
        }
        if SecretFormat.apiKey.matches(found.token) {
            return refuse(.invalidCredential("API keys are turned off while Portico is in JWT mode; present a JWT"))
        }
        let claims: [String: JSONValue]
        switch await verifier.verify(found.token, now: Date().timeIntervalSince1970) {
        case .rejected(let rejection):
            return refuse(.invalidCredential(rejection.reason))
        case .unavailable(let reason):
            context.logger.warning("token keys unavailable", metadata: ["reason": "\(reason)"])
            return refuse(.authUnavailable)
        case .verified(let verified):
            claims = verified
        }
        let principal: JWTPrincipal
        switch snapshot.auth.mapping.principal(from: claims) {
        case .noUserId(let claim): return refuse(.invalidCredential("the token has no '\(claim)' claim"))
        case .mapped(let mapped): principal = mapped
        }
        if let expression = config.expression, !expression.evaluate(claims) { return refuse(.claimsMismatch) }
        if snapshot.isDisabled(externalUserId: principal.userId) { return refuse(.invalidCredential("the token's user is disabled")) }
        guard !principal.groups.isEmpty else { return refuse(.noGroups(claim: snapshot.auth.mapping.groups.description)) }

        for forward in config.forwardHeaders {
            let value = forward.claim.value(in: claims)?.scalarTexts.joined(separator: ",") ?? ""
            // A claim cannot smuggle a second header line in.
            guard !value.isEmpty, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { continue }
            changes.addedHeaders.append((forward.header, value))
        }
        sightings.record(principal, at: Date())
        let label = config.usernameClaim?.value(in: claims)?.scalarText
        return .admitted(Consumer(id: principal.consumerId, groups: principal.groups, label: label), changes)
    }
}
