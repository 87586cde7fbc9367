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
    /// For the access log: the refusal's code and the step of the decision that made it.
    var error: String? = nil
    var step: String? = nil
    /// The refusal's message, for the recent refusals.
    var reason: String? = nil
}

/// Who a request is from, once known: for the usage records and the per-user metric.
struct Caller: Sendable {
    let id: UUID
    /// The user name the per-user metric counts, when `usernameClaim` is set.
    let label: String?
    /// The application of the key it came with.
    let application: UUID?

    init(_ consumer: Consumer) {
        id = consumer.id
        label = consumer.label
        application = consumer.application
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
    /// Seconds since 1970 as the credential step reads them (keys' and tokens' expiry); tests set a clock of
    /// their own.
    var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    /// The API a request is for, in the snapshot held now, or the answer when there is none.
    enum Routed {
        case matched(GatewayAPI, PolicySnapshot)
        case answered(GatewayDecision)
    }

    func route(_ request: GatewayRequest) -> Routed {
        guard policy.isLoaded else {
            request.trace?.record(.route, .failed, GatewayError.policyNotLoaded.message)
            return .answered(.answer(GatewayError.policyNotLoaded.answer, api: nil, caller: nil))
        }
        let snapshot = policy.snapshot
        guard let api = snapshot.routes.match(path: request.path, host: request.authority) else {
            let refusal = GatewayError.noRoute(path: String(request.path))
            if let trace = request.trace { trace.record(.route, .failed, refusal.message + "; " + triedPrefixes(request, snapshot)) }
            return .answered(.answer(refusal.answer, api: nil, caller: nil))
        }
        if let trace = request.trace { trace.record(.route, .passed, "API '\(api.name)' matched; " + triedPrefixes(request, snapshot)) }
        return .matched(api, snapshot)
    }

    func decide(_ request: GatewayRequest) -> GatewayDecision {
        let api: GatewayAPI
        let snapshot: PolicySnapshot
        switch route(request) {
        case .answered(let decision): return decision
        case .matched(let matched, let held): (api, snapshot) = (matched, held)
        }
        if let route = api.oidc {
            guard let oidc else { return .answer(GatewayError.authUnavailable.answer, api: api, caller: nil) }
            return decision(oidc.decide(request, api: api, route: route, snapshot: snapshot), request, api: api, snapshot: snapshot)
        }
        let now = clock()
        switch snapshot.auth.mode {
        case .apiKey:
            return authorize(keys.admit(request, api: api, snapshot: snapshot, nowMillis: Int64(now * 1000)), request, api: api, snapshot: snapshot)
        case .jwt:
            // The explainer takes the whole verification, so that every check is shown, not a remembered outcome.
            let step = request.trace == nil ? tokens.admitNow(request, api: api, snapshot: snapshot, now: now) : .needsVerification
            switch step {
            case .done(let admission):
                return authorize(admission, request, api: api, snapshot: snapshot)
            case .needsFormBody:
                return .readFormBody
            case .needsVerification:
                return .later { [self] in
                    let admission = await tokens.admit(request, api: api, snapshot: snapshot, now: clock(), logger: logger)
                    return authorize(admission, request, api: api, snapshot: snapshot)
                }
            }
        }
    }

    private func decision(_ step: OIDCAdmission.Step, _ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> GatewayDecision {
        switch step {
        case .admitted(let admission): return authorize(admission, request, api: api, snapshot: snapshot)
        case .answer(let answer):
            request.trace?.record(.credential, .failed, "API '\(api.name)' signs browsers in with OpenID Connect: answered \(answer.status.code)")
            return .answer(answer, api: api, caller: nil)
        case .later(let next): return .later { [self] in decision(await next(), request, api: api, snapshot: snapshot) }
        }
    }

    /// Decides from the credential step on; the explainer starts here with a user in place of a credential.
    func authorize(_ admission: Admission, _ request: GatewayRequest, api: GatewayAPI, snapshot: PolicySnapshot) -> GatewayDecision {
        let consumer: Consumer
        var changes: UpstreamRequestChanges
        switch admission {
        case .refused(let error):
            request.trace?.record(.credential, .failed, error.message)
            return .answer(error.answer, api: api, caller: nil)
        case .admitted(let admitted, let admittedChanges): (consumer, changes) = (admitted, admittedChanges)
        }
        if let trace = request.trace, !trace.has(.credential) {
            trace.record(.credential, .passed, "consumer \(consumer.id.headerText) in groups \(Self.listed(consumer.groups))")
        }
        let granted: GrantedLimit
        switch snapshot.access(groups: consumer.groups, api: api.id, method: request.method, documentPath: api.documentPath(for: request.path)) {
        case .granted(let limit):
            granted = limit
            request.trace?.record(
                .access, .passed, "grant '\(limit.grant)' wins, the most generous of: " + considered(consumer, api: api, snapshot: snapshot))
        case .noGrant:
            let refusal = GatewayError.noAccess(api: api.name)
            if let trace = request.trace {
                let holders = snapshot.groupsHoldingGrants(api: api.id)
                trace.record(
                    .access, .failed,
                    refusal.message
                        + "; the caller's groups are \(Self.listed(consumer.groups)), groups with grants on it are \(Self.listed(holders))")
            }
            return .answer(refusal.answer, api: api, caller: Caller(consumer))
        case .notCovered(let operation):
            let refusal = GatewayError.operationNotCovered(api: api.name, operation: operation)
            request.trace?.record(.access, .failed, refusal.message + "; grants considered: " + considered(consumer, api: api, snapshot: snapshot))
            return .answer(refusal.answer, api: api, caller: Caller(consumer))
        }
        var responseHeaders = HTTPHeaders()
        let limits = granted.limits
        if limits.isUnlimited {
            request.trace?.record(.limits, .passed, "\(limits.summary): no rate limit or quota to count")
        } else {
            if (limits.rate != nil && limiter.refusesWhileDegraded) || (limits.quota != nil && quotas.health.refusesSharedLimits) {
                request.trace?.record(.limits, .failed, GatewayError.rateLimitUnavailable(api: api.name).message)
                return .answer(GatewayError.rateLimitUnavailable(api: api.name).answer, api: api, caller: Caller(consumer))
            }
            let refusal = count(
                limits, policy: granted.policyBase, consumer: consumer, api: api, into: &responseHeaders, counting: request.trace == nil)
            if let trace = request.trace {
                let fields = responseHeaders.map { "\($0.name): \($0.value)" }.joined(separator: "; ")
                trace.record(
                    .limits, refusal == nil ? .passed : .failed, [refusal?.message, limits.summary, fields].compactMap { $0 }.joined(separator: "; "))
            }
            if let refusal {
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
        request.trace?.record(.upstream, .passed, "would be forwarded to \(api.upstream.origin)")
        return .forward(ForwardPlan(api: api, head: head, responseHeaders: responseHeaders, caller: Caller(consumer)))
    }

    /// Who a refused request's API key belongs to, when the route or the credential step refused it before the
    /// caller was admitted (an expired key, a disabled user, a path no API serves): API-key mode only, since a
    /// token refused is not one whose subject can be believed.
    func keyOwner(of request: GatewayRequest) -> UUID? {
        guard policy.isLoaded, policy.snapshot.auth.mode == .apiKey,
            let credential = BearerCredential(request.headers.first(name: HeaderNames.authorization))
        else { return nil }
        return policy.snapshot.owner(ofAPIKey: credential.token)
    }

    private func triedPrefixes(_ request: GatewayRequest, _ snapshot: PolicySnapshot) -> String {
        let tried = snapshot.routes.prefixesTried(path: request.path, host: request.authority).map { tried in
            "\(tried.prefix) (\(tried.apis.isEmpty ? "no API" : tried.apis.joined(separator: ", ")))"
        }
        return "prefixes tried: " + tried.joined(separator: ", ")
    }

    private func considered(_ consumer: Consumer, api: GatewayAPI, snapshot: PolicySnapshot) -> String {
        snapshot.grantsConsidered(groups: consumer.groups, api: api.id).joined(separator: "; ")
    }

    static func listed(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", ")
    }
}

extension GatewayDecider {
    /// Counts the call against the rate limit, then the quota (a call the rate limit refuses spends no quota),
    /// writes the fields that describe them, and returns the refusal if either refuses.
    func count(
        _ limits: AccessLimits, policy base: String, consumer: Consumer, api: GatewayAPI, into headers: inout HTTPHeaders, counting: Bool = true
    ) -> GatewayError? {
        var states: [LimitPolicyState] = []
        var refusal: GatewayError?
        if let rate = limits.rate {
            let scope = limits.bucket == .consumer ? (limits.plan?.id ?? api.id) : api.id
            let decision = limiter.decide(consumer: consumer.id, scope: scope, limit: rate, counting: counting)
            states.append(.rate(base, decision))
            if rateLimitHeaders.sendsX { RateLimitHeaders.addX(decision, to: &headers) }
            if !decision.allowed {
                refusal = .rateLimited(api: api.name, retryAfter: decision.retryAfterSeconds, policy: RateLimitFields.ratePolicyName(base))
            }
        }
        if refusal == nil, let quota = limits.quota, let plan = limits.plan {
            let key = QuotaCounter.Key(plan: plan.id, consumer: consumer.id, api: limits.bucket == .consumer ? nil : api.id)
            let decision = quotas.decide(key, quota: quota, now: Int64(Date().timeIntervalSince1970), counting: counting)
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
