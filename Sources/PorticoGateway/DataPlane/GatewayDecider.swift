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

/// Who a request is from, once known: for the usage records and the per-user metric.
struct Caller: Sendable {
    let id: UUID
    /// The user name the per-user metric counts, when `usernameClaim` is set.
    let label: String?

    init(_ consumer: Consumer) {
        id = consumer.id
        label = consumer.label
    }
}

/// A request admitted to its upstream: where it goes, what to send, and what to add to the answer.
struct ForwardPlan: Sendable {
    let api: GatewayAPI
    /// The request head for the upstream, as bytes (see `UpstreamRequest.head`).
    let head: ByteBuffer
    /// Added to the upstream's response: rate-limit headers, `Deprecation`.
    let responseHeaders: HTTPHeaders
    let caller: Caller
}

enum GatewayDecision: Sendable {
    case answer(GatewayAnswer, api: GatewayAPI?, caller: Caller?)
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
    let quotas: QuotaCounter
    let keys: KeyAdmission
    let tokens: TokenAdmission
    let oidc: OIDCAdmission?
    let rateLimitHeaders: RateLimitHeaderStyle
    let logger: Logger

    func decide(_ request: GatewayRequest) -> GatewayDecision {
        guard policy.isLoaded else { return .answer(GatewayError.policyNotLoaded.answer, api: nil, caller: nil) }
        let snapshot = policy.snapshot
        guard let api = snapshot.routes.match(path: request.path, host: request.authority) else {
            return .answer(GatewayError.noRoute(path: String(request.path)).answer, api: nil, caller: nil)
        }
        if let route = api.oidc {
            guard let oidc else { return .answer(GatewayError.authUnavailable.answer, api: api, caller: nil) }
            return decision(oidc.decide(request, api: api, route: route, snapshot: snapshot), request, api: api, snapshot: snapshot)
        }
        let now = Date().timeIntervalSince1970
        switch snapshot.auth.mode {
        case .apiKey:
            return authorize(keys.admit(request, api: api, snapshot: snapshot, nowMillis: Int64(now * 1000)), request, api: api, snapshot: snapshot)
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
        case .answer(let answer): return .answer(answer, api: api, caller: nil)
        case .later(let next): return .later { [self] in decision(await next(), request, api: api, snapshot: snapshot) }
        }
    }

    private func authorize(_ admission: Admission, _ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> GatewayDecision {
        let consumer: Consumer
        var changes: UpstreamRequestChanges
        switch admission {
        case .refused(let error): return .answer(error.answer, api: api, caller: nil)
        case .admitted(let admitted, let admittedChanges): (consumer, changes) = (admitted, admittedChanges)
        }
        let granted: GrantedLimit
        switch snapshot.access(groups: consumer.groups, api: api.id, method: request.method, documentPath: api.documentPath(for: request.path)) {
        case .granted(let limit): granted = limit
        case .noGrant: return .answer(GatewayError.noAccess(api: api.name).answer, api: api, caller: Caller(consumer))
        case .notCovered(let operation):
            return .answer(GatewayError.operationNotCovered(api: api.name, operation: operation).answer, api: api, caller: Caller(consumer))
        }
        var responseHeaders = HTTPHeaders()
        let limits = granted.limits
        if !limits.isUnlimited {
            if (limits.rate != nil && limiter.refusesWhileDegraded) || (limits.quota != nil && quotas.health.refusesSharedLimits) {
                return .answer(GatewayError.rateLimitUnavailable(api: api.name).answer, api: api, caller: Caller(consumer))
            }
            if let refusal = count(limits, policy: granted.policyBase, consumer: consumer, api: api, into: &responseHeaders) {
                var answer = refusal.answer
                answer.headers.add(contentsOf: responseHeaders)
                return .answer(answer, api: api, caller: Caller(consumer))
            }
        }
        if api.status == .deprecated { responseHeaders.add(name: HeaderNames.deprecation, value: "true") }
        responseHeaders.add(name: HeaderNames.requestId, value: request.requestId)
        if request.requestIdIsOwn {
            if request.dropsClientRequestId { changes.removedHeaders.insert("x-request-id") }
            changes.addedHeaders.append((HeaderNames.requestId, request.requestId))
        }
        let head = UpstreamRequest.head(for: request, api: api, changes: changes)
        return .forward(ForwardPlan(api: api, head: head, responseHeaders: responseHeaders, caller: Caller(consumer)))
    }
}

extension GatewayDecider {
    /// Counts the call against the rate limit, then the quota (a call the rate limit refuses spends no quota),
    /// writes the fields that describe them, and returns the refusal if either refuses.
    func count(
        _ limits: AccessLimits, policy base: String, consumer: Consumer, api: GatewayAPI, into headers: inout HTTPHeaders
    ) -> GatewayError? {
        var states: [LimitPolicyState] = []
        var refusal: GatewayError?
        if let rate = limits.rate {
            let scope = limits.bucket == .consumer ? (limits.plan?.id ?? api.id) : api.id
            let decision = limiter.decide(consumer: consumer.id, scope: scope, limit: rate)
            states.append(.rate(base, decision))
            if rateLimitHeaders.sendsX { RateLimitHeaders.addX(decision, to: &headers) }
            if !decision.allowed {
                refusal = .rateLimited(api: api.name, retryAfter: decision.retryAfterSeconds, policy: RateLimitFields.ratePolicyName(base))
            }
        }
        if refusal == nil, let quota = limits.quota, let plan = limits.plan {
            let key = QuotaCounter.Key(plan: plan.id, consumer: consumer.id, api: limits.bucket == .consumer ? nil : api.id)
            let decision = quotas.decide(key, quota: quota, now: Int64(Date().timeIntervalSince1970))
            states.append(.quota(base, decision))
            if rateLimitHeaders.sendsX { RateLimitHeaders.addX(decision, to: &headers) }
            let name = RateLimitFields.quotaPolicyName(base)
            switch decision.outcome {
            case .admitted: break
            case .exhausted: refusal = .quotaExceeded(api: api.name, retryAfter: decision.resetSeconds, policy: name)
            case .renewing: refusal = .quotaRenewing(api: api.name, policy: name)
            }
        }
        if rateLimitHeaders.sendsIETF, !states.isEmpty {
            headers.add(name: HeaderNames.rateLimitPolicy, value: RateLimitFields.policy(states))
            headers.add(name: HeaderNames.rateLimit, value: RateLimitFields.state(states))
        }
        return refusal
    }
}

/// Traefik Hub's `X-RateLimit-*` fields for the rate limit, and Portico's `X-Quota-*` for the quota.
enum RateLimitHeaders {
    static func addX(_ decision: RateLimitDecision, to headers: inout HTTPHeaders) {
        headers.add(name: HeaderNames.rateLimitLimit, value: String(decision.limit))
        headers.add(name: HeaderNames.rateLimitRemaining, value: String(decision.remaining))
        headers.add(name: HeaderNames.rateLimitReset, value: String(decision.resetSeconds))
        headers.add(name: HeaderNames.rateLimitPeriod, value: String(decision.periodSeconds))
    }

    static func addX(_ decision: QuotaDecision, to headers: inout HTTPHeaders) {
        headers.add(name: HeaderNames.quotaLimit, value: String(decision.limit))
        headers.add(name: HeaderNames.quotaRemaining, value: String(decision.remaining))
        headers.add(name: HeaderNames.quotaReset, value: String(decision.resetSeconds))
    }
}
