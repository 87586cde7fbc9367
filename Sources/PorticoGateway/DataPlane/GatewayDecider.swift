import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore

/// An answer the gateway gives itself (an error, a refusal), written in one piece.
struct GatewayAnswer: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// A request admitted to its upstream: where it goes, what to send, and what to add to the answer.
struct ForwardPlan: Sendable {
    let api: GatewayAPI
    let head: HTTPRequestHead
    /// Added to the upstream's response: rate-limit headers, `Deprecation`.
    let responseHeaders: HTTPHeaders
    let consumerLabel: String?
}

enum GatewayDecision: Sendable {
    case answer(GatewayAnswer, api: GatewayAPI?, consumerLabel: String?)
    case forward(ForwardPlan)
    /// Read the (urlencoded) body, up to `TokenExtractor.formBodyLimit`, then decide again with it.
    case readFormBody
    /// Deciding needs to wait (building the verifier, fetching keys, a first verification): run this, then go on.
    case later(@Sendable () async -> GatewayDecision)
}

/// The data plane's decision: route → credential → access → rate limit → what to forward. Reads only the
/// in-memory snapshot; decides without suspending whenever it can.
struct GatewayDecider: Sendable {
    let policy: PolicyHolder
    let limiter: RateLimiter
    let keys: KeyAdmission
    let tokens: TokenAdmission
    let oidc: OIDCAdmission?
    let rateLimitHeaders: RateLimitHeaderStyle
    let logger: Logger

    func decide(_ request: GatewayRequest) -> GatewayDecision {
        guard policy.isLoaded else { return .answer(GatewayError.policyNotLoaded.answer, api: nil, consumerLabel: nil) }
        let snapshot = policy.snapshot
        guard let api = snapshot.routes.match(path: request.path, host: request.authority) else {
            return .answer(GatewayError.noRoute(path: String(request.path)).answer, api: nil, consumerLabel: nil)
        }
        if let route = api.oidc {
            guard let oidc else { return .answer(GatewayError.authUnavailable.answer, api: api, consumerLabel: nil) }
            return decision(oidc.decide(request, api: api, route: route, snapshot: snapshot), request, api: api, snapshot: snapshot)
        }
        let now = Date().timeIntervalSince1970
        switch snapshot.auth.mode {
        case .apiKey:
            return authorize(keys.admit(request, snapshot: snapshot, nowMillis: Int64(now * 1000)), request, api: api, snapshot: snapshot)
        case .jwt:
            switch tokens.admitNow(request, api: api, snapshot: snapshot, now: now) {
            case .done(let admission):
                return authorize(admission, request, api: api, snapshot: snapshot)
            case .needsFormBody:
                return .readFormBody
            case .needsVerification:
                return .later { [self] in
                    let admission = await tokens.admit(request, api: api, snapshot: snapshot, now: Date().timeIntervalSince1970, logger: logger)
                    return authorize(admission, request, api: api, snapshot: snapshot)
                }
            }
        }
    }

    private func decision(_ step: OIDCAdmission.Step, _ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> GatewayDecision {
        switch step {
        case .admitted(let admission): return authorize(admission, request, api: api, snapshot: snapshot)
        case .answer(let answer): return .answer(answer, api: api, consumerLabel: nil)
        case .later(let next): return .later { [self] in decision(await next(), request, api: api, snapshot: snapshot) }
        }
    }

    private func authorize(_ admission: Admission, _ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> GatewayDecision {
        let consumer: Consumer
        let changes: UpstreamRequestChanges
        switch admission {
        case .refused(let error): return .answer(error.answer, api: api, consumerLabel: nil)
        case .admitted(let admitted, let admittedChanges): (consumer, changes) = (admitted, admittedChanges)
        }
        guard let granted = snapshot.grantedAccess(groups: consumer.groups, api: api.id) else {
            return .answer(GatewayError.noAccess(api: api.name).answer, api: api, consumerLabel: consumer.label)
        }
        var responseHeaders = HTTPHeaders()
        if case .limited(let rateLimit) = granted.limit {
            if limiter.refusesWhileDegraded {
                return .answer(GatewayError.rateLimitUnavailable(api: api.name).answer, api: api, consumerLabel: consumer.label)
            }
            let decision = limiter.decide(consumer: consumer.id, api: api.id, limit: rateLimit)
            let policy = RateLimitFields.policyName(grant: granted.grant)
            RateLimitHeaders.add(decision, policy: policy, style: rateLimitHeaders, to: &responseHeaders)
            guard decision.allowed else {
                var answer = GatewayError.rateLimited(api: api.name, retryAfter: decision.retryAfterSeconds, policy: policy).answer
                answer.headers.add(contentsOf: responseHeaders)
                return .answer(answer, api: api, consumerLabel: consumer.label)
            }
        }
        if api.status == .deprecated { responseHeaders.add(name: HeaderNames.deprecation, value: "true") }
        let head = UpstreamRequest.head(for: request, api: api, changes: changes)
        return .forward(ForwardPlan(api: api, head: head, responseHeaders: responseHeaders, consumerLabel: consumer.label))
    }
}

enum RateLimitHeaders {
    static func add(_ decision: RateLimitDecision, policy: String, style: RateLimitHeaderStyle, to headers: inout HTTPHeaders) {
        if style.sendsX {
            headers.add(name: HeaderNames.rateLimitLimit, value: String(decision.limit))
            headers.add(name: HeaderNames.rateLimitRemaining, value: String(decision.remaining))
            headers.add(name: HeaderNames.rateLimitReset, value: String(decision.resetSeconds))
            headers.add(name: HeaderNames.rateLimitPeriod, value: String(decision.periodSeconds))
        }
        if style.sendsIETF {
            headers.add(name: HeaderNames.rateLimitPolicy, value: RateLimitFields.policy(policy, decision: decision))
            headers.add(name: HeaderNames.rateLimit, value: RateLimitFields.state(policy, decision: decision))
        }
    }
}
