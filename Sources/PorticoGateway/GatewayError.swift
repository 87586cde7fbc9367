import Foundation
import NIOCore
import NIOHTTP1
import PorticoCore

/// Every answer the gateway gives of its own (DESIGN.md, "Errors at the gateway"), in one place.
enum GatewayError: Error, Sendable {
    case noRoute(path: String)
    case missingCredential
    case invalidCredential(String)
    case noAccess(api: String)
    /// The caller's grants on the API cover other operations (their operation filters), not this one.
    case operationNotCovered(api: String, operation: String)
    /// The key is limited to other APIs (its scopes).
    case keyScope(api: String, scopes: [String])
    case claimsMismatch
    case noGroups(claim: String)
    case authUnavailable
    /// A trusted identity provider's keys cannot be fetched: its outage, not the caller's fault.
    case jwksUnavailable(provider: String)
    case formTooLarge
    /// The request head is over `RequestHeadLimit.bytes`.
    case headersTooLarge
    /// The request is not HTTP/1.1 the parser accepts; the reason names what is wrong.
    case malformedRequest(String)
    /// The request target is over 8 KiB.
    case targetTooLong
    /// A transfer coding the gateway does not relay (only `chunked` is).
    case unsupportedTransferCoding(String)
    /// An HTTP version other than 1.1 and 1.0.
    case unsupportedVersion
    /// The request body is over the API's `maxBodyBytes`.
    case bodyTooLarge(api: String, limit: Int)
    /// An OIDC-protected API called without a session by something other than a browser.
    case signInRequired(api: String)
    /// The callback of an OIDC-protected API with a state that is unknown, used, expired or another browser's.
    case signInFlowInvalid(String)
    /// What the identity provider sent back was refused.
    case signInRefused(String)
    /// The identity provider could not be reached while a sign-in needed it.
    case identityProviderUnavailable(provider: String, reason: String)
    case rateLimited(api: String, retryAfter: Int, policy: String)
    /// The plan's quota is spent for this period; `retryAfter` is the time to the period's end.
    case quotaExceeded(api: String, retryAfter: Int, policy: String)
    /// This replica's lease of the quota ran out and more is on its way from the database.
    case quotaRenewing(api: String, policy: String)
    /// A cluster store failing closed cannot share its counts with the other replicas.
    case rateLimitUnavailable(api: String)
    case upstreamUnreachable(api: String)
    case upstreamTimeout(api: String)
    case policyNotLoaded

    var status: HTTPResponseStatus {
        switch self {
        case .noRoute: .notFound
        case .missingCredential, .invalidCredential, .signInRequired, .signInRefused: .unauthorized
        case .signInFlowInvalid: .badRequest
        case .identityProviderUnavailable: .serviceUnavailable
        case .noAccess, .operationNotCovered, .keyScope, .claimsMismatch, .noGroups: .forbidden
        case .authUnavailable, .jwksUnavailable: .serviceUnavailable
        case .formTooLarge, .bodyTooLarge: .payloadTooLarge
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .malformedRequest: .badRequest
        case .targetTooLong: .uriTooLong
        case .unsupportedTransferCoding: .notImplemented
        case .unsupportedVersion: .httpVersionNotSupported
        case .rateLimited, .quotaExceeded, .quotaRenewing: .tooManyRequests
        case .rateLimitUnavailable: .serviceUnavailable
        case .upstreamUnreachable: .badGateway
        case .upstreamTimeout: .gatewayTimeout
        case .policyNotLoaded: .serviceUnavailable
        }
    }

    var code: String {
        switch self {
        case .noRoute: "no_route"
        case .missingCredential: "missing_credential"
        case .invalidCredential: "invalid_token"
        case .noAccess: "no_access"
        case .operationNotCovered: "operation_not_allowed"
        case .keyScope: "key_scope"
        case .claimsMismatch: "claims_mismatch"
        case .noGroups: "no_groups"
        case .authUnavailable: "auth_unavailable"
        case .jwksUnavailable: "jwks_unavailable"
        case .formTooLarge: "form_too_large"
        case .headersTooLarge: "headers_too_large"
        case .malformedRequest: "malformed_request"
        case .targetTooLong: "target_too_long"
        case .unsupportedTransferCoding: "unsupported_transfer_coding"
        case .unsupportedVersion: "unsupported_http_version"
        case .bodyTooLarge: "body_too_large"
        case .signInRequired: "sign_in_required"
        case .signInFlowInvalid: "invalid_sign_in"
        case .signInRefused: "sign_in_refused"
        case .identityProviderUnavailable: "identity_provider_unavailable"
        case .rateLimited: "rate_limited"
        case .quotaExceeded: "quota_exceeded"
        case .quotaRenewing: "quota_renewing"
        case .rateLimitUnavailable: "rate_limit_unavailable"
        case .upstreamUnreachable: "upstream_unreachable"
        case .upstreamTimeout: "upstream_timeout"
        case .policyNotLoaded: "policy_not_loaded"
        }
    }

    var message: String {
        switch self {
        case .noRoute(let path): "no API matches \(path)"
        case .missingCredential: "a bearer credential is required"
        case .invalidCredential(let reason): reason
        case .noAccess(let api): "your groups hold no access grant for API '\(api)'"
        case .operationNotCovered(let api, let operation):
            "your access to API '\(api)' does not cover operation \(operation)"
        case .keyScope(let api, let scopes):
            "this API key is scoped to \(scopes.isEmpty ? "no API that exists now" : "API " + scopes.map { "'\($0)'" }.joined(separator: ", ")) and does not cover API '\(api)'"
        case .claimsMismatch: "the token's claims do not satisfy this gateway's claims expression"
        case .noGroups(let claim): "the token carries no groups (claim '\(claim)'), and groups are needed to call APIs"
        case .authUnavailable: "tokens cannot be verified right now; retry shortly"
        case .jwksUnavailable(let provider): "the keys of identity provider '\(provider)' cannot be fetched right now; retry shortly"
        case .formTooLarge: "the form body is too large to look for a token in"
        case .headersTooLarge: "the request's header block is larger than \(RequestHeadLimit.bytes / 1024) KiB"
        case .malformedRequest(let reason): "the request is not valid HTTP/1.1: \(reason)"
        case .targetTooLong: "the request target is longer than \(RequestHeadParser.maxTargetBytes / 1024) KiB"
        case .unsupportedTransferCoding(let coding): "transfer coding '\(coding)' is not supported; only chunked is"
        case .unsupportedVersion: "only HTTP/1.1 and HTTP/1.0 are supported"
        case .bodyTooLarge(let api, let limit): "API '\(api)' accepts request bodies of at most \(limit) bytes"
        case .signInRequired(let api): "API '\(api)' needs a session: sign in with a browser first"
        case .signInFlowInvalid(let reason), .signInRefused(let reason): reason
        case .identityProviderUnavailable(let provider, let reason): "identity provider '\(provider)' is unavailable: \(reason)"
        case .rateLimited(let api, let retryAfter, _): "rate limit exceeded for API '\(api)'; retry in \(retryAfter) s"
        case .quotaExceeded(let api, let retryAfter, _): "the quota for API '\(api)' is used up for this period; it starts again in \(retryAfter) s"
        case .quotaRenewing(let api, _): "this gateway is renewing its share of the quota for API '\(api)'; retry in 1 s"
        case .rateLimitUnavailable(let api): "the rate limit of API '\(api)' cannot be counted right now; retry shortly"
        case .upstreamUnreachable(let api): "the upstream of API '\(api)' could not be reached"
        case .upstreamTimeout(let api): "the upstream of API '\(api)' did not answer in time"
        case .policyNotLoaded: "the gateway has not loaded its policy yet; retry shortly"
        }
    }

    /// Where the access log says the refusal was made: a step of the decision (`DecisionStep`), or `request` for
    /// a request refused before any.
    var step: String {
        switch self {
        case .noRoute, .policyNotLoaded: DecisionStep.route.rawValue
        case .missingCredential, .invalidCredential, .keyScope, .claimsMismatch, .noGroups, .authUnavailable, .jwksUnavailable, .formTooLarge,
            .signInRequired, .signInFlowInvalid, .signInRefused, .identityProviderUnavailable:
            DecisionStep.credential.rawValue
        case .noAccess, .operationNotCovered: DecisionStep.access.rawValue
        case .rateLimited, .quotaExceeded, .quotaRenewing, .rateLimitUnavailable: DecisionStep.limits.rawValue
        case .bodyTooLarge, .upstreamUnreachable, .upstreamTimeout: DecisionStep.upstream.rawValue
        case .headersTooLarge, .malformedRequest, .targetTooLong, .unsupportedTransferCoding, .unsupportedVersion: "request"
        }
    }

    /// The answer to a request head refused before anything else was decided.
    init(_ refusal: RequestHeadRefusal) {
        switch refusal {
        case .malformed(let reason): self = .malformedRequest(reason)
        case .targetTooLong: self = .targetTooLong
        case .headTooLarge: self = .headersTooLarge
        case .unsupportedTransferCoding(let coding): self = .unsupportedTransferCoding(coding)
        case .unsupportedVersion: self = .unsupportedVersion
        }
    }

    /// A provider's key fetch is retried (and rate-limited) on about this scale.
    static let jwksRetryAfterSeconds = 5

    static let apiKeyInJWTMode = "API keys are turned off while Portico is in JWT mode; present a JWT"

    var answer: GatewayAnswer {
        // JSON is UTF-8 by definition (RFC 8259): `application/json` takes no charset.
        var headers = HTTPHeaders([(HeaderNames.contentType, "application/json")])
        switch self {
        case .missingCredential:
            headers.add(name: HeaderNames.wwwAuthenticate, value: #"Bearer realm="portico""#)
        case .invalidCredential(let reason):
            headers.add(
                name: HeaderNames.wwwAuthenticate,
                value: #"Bearer realm="portico", error="invalid_token", error_description="\#(QuotedString.escaped(reason))""#)
        case .rateLimited(_, let retryAfter, _):
            headers.add(name: HeaderNames.retryAfter, value: String(retryAfter))
        case .jwksUnavailable, .identityProviderUnavailable:
            headers.add(name: HeaderNames.retryAfter, value: String(Self.jwksRetryAfterSeconds))
        case .quotaExceeded(_, let retryAfter, _):
            headers.replaceOrAdd(name: HeaderNames.contentType, value: "application/problem+json")
            headers.add(name: HeaderNames.retryAfter, value: String(retryAfter))
        case .rateLimitUnavailable, .quotaRenewing:
            headers.add(name: HeaderNames.retryAfter, value: "1")
        case .signInRequired(let api):
            headers.add(name: HeaderNames.wwwAuthenticate, value: #"Bearer realm="\#(QuotedString.escaped(api))", error="login_required""#)
        default:
            break
        }
        let body: Data?
        // Paths and versions in messages read as written (`/orders`, not `\/orders`).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        if case .quotaExceeded = self {
            body = try? encoder.encode(
                Problem(
                    type: Self.quotaExceededType, title: "Quota exceeded", status: Int(status.code), detail: message, error: code,
                    violatedPolicies: violatedPolicies ?? []))
        } else {
            body = try? encoder.encode(Body(error: code, message: message, violatedPolicies: violatedPolicies))
        }
        return GatewayAnswer(status: status, headers: headers, body: ByteBuffer(bytes: body ?? Data()), error: code, step: step, reason: message)
    }

    /// The problem type the IETF rate-limit draft registers for a spent quota.
    static let quotaExceededType = "https://iana.org/assignments/http-problem-types#quota-exceeded"

    /// RFC 9457 problem details, with the draft's `violated-policies` and Portico's usual `error` code.
    struct Problem: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let error: String
        let violatedPolicies: [String]

        enum CodingKeys: String, CodingKey {
            case type, title, status, detail, error
            case violatedPolicies = "violated-policies"
        }
    }

    /// A refusal's JSON body; a rate-limited one names the policies it ran out of, as the IETF draft's problem
    /// details do.
    struct Body: Encodable {
        let error: String
        let message: String
        let violatedPolicies: [String]?

        enum CodingKeys: String, CodingKey {
            case error, message
            case violatedPolicies = "violated-policies"
        }
    }

    var violatedPolicies: [String]? {
        switch self {
        case .rateLimited(_, _, let policy), .quotaExceeded(_, _, let policy), .quotaRenewing(_, let policy): [policy]
        default: nil
        }
    }
}
