import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PorticoCore

/// The data plane: route → credential → access → rate limit → proxy. Reads only the in-memory snapshot.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayRequestContext

    let policy: PolicyHolder
    let limiter: RateLimiter
    let proxy: UpstreamProxy
    let keys: KeyAdmission
    let tokens: TokenAdmission
    let metrics: GatewayMetrics

    public init(
        policy: PolicyHolder, limiter: RateLimiter, proxy: UpstreamProxy, usage: KeyUsageRecorder, verifiers: JWTVerifierCache,
        sightings: SightingRecorder, metrics: GatewayMetrics
    ) {
        self.policy = policy
        self.limiter = limiter
        self.proxy = proxy
        self.keys = KeyAdmission(usage: usage)
        self.tokens = TokenAdmission(verifiers: verifiers, sightings: sightings)
        self.metrics = metrics
    }

    public func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        guard policy.isLoaded else { return GatewayError.policyNotLoaded.response }
        let snapshot = policy.snapshot
        let path = request.uri.path
        guard let api = snapshot.routes.match(path: path, host: request.head.authority) else {
            let response = GatewayError.noRoute(path: path).response
            metrics.recordRequest(api: "", status: response.status.code, duration: ContinuousClock.now - started)
            return response
        }
        var request = request
        let (consumer, answer) = await handle(&request, api: api, snapshot: snapshot, context: context)
        var response = answer
        if api.status == .deprecated { response.headers[HeaderNames.deprecation] = "true" }
        metrics.recordRequest(api: api.name, status: response.status.code, duration: ContinuousClock.now - started)
        if let user = consumer?.label { metrics.recordUserRequest(api: api.name, user: user) }
        context.logger.debug("request", metadata: [
            "api": "\(api.name)", "status": "\(response.status.code)", "user": "\(consumer?.label ?? "-")",
        ])
        return response
    }

    private func handle(
        _ request: inout Request, api: GatewayAPI, snapshot: PolicySnapshot, context: GatewayRequestContext
    ) async -> (Consumer?, Response) {
        let admission: Admission = switch snapshot.auth.mode {
        case .apiKey: keys.admit(request, snapshot: snapshot)
        case .jwt: await tokens.admit(&request, snapshot: snapshot, context: context)
        }
        let consumer: Consumer
        let changes: UpstreamRequestChanges
        switch admission {
        case .refused(let error): return (nil, error.response)
        case .admitted(let admitted, let admittedChanges): (consumer, changes) = (admitted, admittedChanges)
        }
        guard let limit = snapshot.access(groups: consumer.groups, api: api.id) else {
            return (consumer, GatewayError.noAccess(api: api.name).response)
        }
        var rateHeaders = HTTPFields()
        if case .limited(let rateLimit) = limit {
            let decision = limiter.decide(consumer: consumer.id, api: api.id, limit: rateLimit)
            rateHeaders = RateLimitHeaders.fields(for: decision)
            guard decision.allowed else {
                var response = GatewayError.rateLimited(api: api.name, retryAfter: decision.retryAfterSeconds).response
                response.headers.append(contentsOf: rateHeaders)
                return (consumer, response)
            }
        }
        do throws(UpstreamProxy.Failure) {
            var response = try await proxy.forward(request, to: api, clientAddress: context.remoteAddress?.ipAddress, changes: changes)
            for field in rateHeaders { response.headers[field.name] = field.value }
            return (consumer, response)
        } catch {
            switch error {
            case .timeout:
                return (consumer, GatewayError.upstreamTimeout(api: api.name).response)
            case .unreachable(let reason):
                context.logger.warning("upstream unreachable", metadata: ["api": "\(api.name)", "reason": "\(reason)"])
                return (consumer, GatewayError.upstreamUnreachable(api: api.name).response)
            }
        }
    }
}

enum RateLimitHeaders {
    static func fields(for decision: RateLimitDecision) -> HTTPFields {
        HTTPFields([
            HTTPField(name: HeaderNames.rateLimitLimit, value: String(decision.limit)),
            HTTPField(name: HeaderNames.rateLimitRemaining, value: String(decision.remaining)),
            HTTPField(name: HeaderNames.rateLimitReset, value: String(decision.resetSeconds)),
            HTTPField(name: HeaderNames.rateLimitPeriod, value: String(decision.periodSeconds)),
        ])
    }
}
