import Foundation
import PorticoCore

/// What the gateway reads from a token a consumer pastes into the portal: each check in the explainer's words,
/// the user it maps onto, and the APIs that user's groups can call.
public struct TokenReading: Sendable {
    public struct CallableAPI: Sendable {
        public let name: String
        /// The winning grant's limits in a few words (`AccessLimits.summary`).
        public let limits: String
        /// Set when the API accepts only some identity providers' tokens and this is not one of them.
        public let refusesThisToken: String?
    }

    public let admitted: Bool
    /// Why the gateway would refuse the token (the 401 or 403 it would answer).
    public let refusal: String?
    public let checks: [ExplainedCheck]
    public let principal: JWTPrincipal?
    public let apis: [CallableAPI]
}

extension RequestExplainer {
    /// Reads `token` as JWT mode's admission does, against the snapshot held now, without an API in view (no API's
    /// narrowing to some providers applies until the APIs are listed). The token is neither stored nor logged.
    /// nil when Portico is not in JWT mode.
    public func read(token: String) async throws(PorticoError) -> TokenReading? {
        guard decider.policy.isLoaded else { throw .unavailable("the gateway has not loaded its policy yet") }
        let snapshot = decider.policy.snapshot
        guard snapshot.auth.mode == .jwt else { return nil }
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        var request = try build(ExplainRequest(method: "GET", url: "/", credential: trimmed.isEmpty ? nil : trimmed), defaultHost: "portal")
        let trace = DecisionTrace()
        request.trace = trace
        if request.formBody == nil { request.formBody = .init() }
        let anyAPI: GatewayAPI
        do {
            anyAPI = GatewayAPI(
                id: UUID(), name: "(any API)", pathPrefix: "/", host: nil, upstream: try Upstream("http://127.0.0.1:9"), stripPrefix: false,
                status: .published)
        } catch { throw .unavailable("the token tester could not start") }
        let admission = await decider.tokens.admit(
            request, api: anyAPI, snapshot: snapshot, now: Date().timeIntervalSince1970, logger: decider.logger)
        let checks = trace.pendingChecks
        switch admission {
        case .refused(let error):
            return TokenReading(admitted: false, refusal: error.message, checks: checks, principal: trace.principal, apis: [])
        case .admitted(let consumer, _):
            // A provider's token is judged by each API's narrowing; a token of the JWT settings' own keys by none.
            let issuer = (try? CompactJWS(trimmed).unverifiedIssuer()).flatMap { snapshot.trustedIssuers[$0] == nil ? nil : $0 }
            let apis = snapshot.structure.apis.filter { $0.status != .disabled }.sorted { $0.name < $1.name }.compactMap {
                api -> TokenReading.CallableAPI? in
                guard let granted = snapshot.grantedAccess(groups: consumer.groups, api: api.id) else { return nil }
                let narrowed =
                    api.acceptsTokens(ofIssuer: issuer) ? nil : "accepts only tokens of \((api.tokenIssuers ?? []).joined(separator: ", "))"
                return TokenReading.CallableAPI(name: api.name, limits: granted.limits.summary, refusesThisToken: narrowed)
            }
            return TokenReading(admitted: true, refusal: nil, checks: checks, principal: trace.principal, apis: apis)
        }
    }
}
