import Foundation
import PorticoCore

struct CreateUserBody: Decodable {
    var email: String
    var name: String?
    var groups: [String]?
    var role: Role?
}

struct PatchUserBody: Decodable {
    var email: String?
    var name: String?
    var groups: [String]?
    var role: Role?
    var disabled: Bool?
}

struct CreateGroupBody: Decodable {
    var name: String
}

struct CreateAPIBody: Decodable {
    var name: String
    var pathPrefix: String
    var upstream: String
    var stripPrefix: Bool?
    var host: String?
    var status: APIStatus?
    var forwardCredential: Bool?
    var maxBodyBytes: Int?
    var openapiUrl: String?
}

struct PatchAPIBody: Decodable {
    var patch: APIPatch

    enum CodingKeys: String, CodingKey {
        case name, pathPrefix, upstream, stripPrefix, host, status, tokenProviders, auth, oidc, forwardCredential, maxBodyBytes, openapiUrl
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let host: String?? = container.contains(.host) ? .some(try container.decodeIfPresent(String.self, forKey: .host)) : .none
        let tokenProviders: [String]?? =
            container.contains(.tokenProviders) ? .some(try container.decodeIfPresent([String].self, forKey: .tokenProviders)) : .none
        patch = APIPatch(
            name: try container.decodeIfPresent(String.self, forKey: .name),
            pathPrefix: try container.decodeIfPresent(String.self, forKey: .pathPrefix),
            upstream: try container.decodeIfPresent(String.self, forKey: .upstream),
            stripPrefix: try container.decodeIfPresent(Bool.self, forKey: .stripPrefix),
            host: host,
            status: try container.decodeIfPresent(APIStatus.self, forKey: .status),
            tokenProviders: tokenProviders,
            auth: try container.decodeIfPresent(APIAuth.self, forKey: .auth),
            oidc: container.contains(.oidc) ? .some(try container.decodeIfPresent(APIOIDCSettings.self, forKey: .oidc)) : .none,
            forwardCredential: try container.decodeIfPresent(Bool.self, forKey: .forwardCredential),
            maxBodyBytes: container.contains(.maxBodyBytes) ? .some(try container.decodeIfPresent(Int.self, forKey: .maxBodyBytes)) : .none,
            openapiUrl: container.contains(.openapiUrl) ? .some(try container.decodeIfPresent(String.self, forKey: .openapiUrl)) : .none)
    }
}

/// `{"limit": 100, "period": "1m"}`; the period may also be a number of seconds.
struct RateLimitBody: Decodable {
    var limit: Int
    var period: String

    enum CodingKeys: String, CodingKey { case limit, period }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limit = try container.decode(Int.self, forKey: .limit)
        if let seconds = try? container.decode(Int.self, forKey: .period) {
            period = String(seconds)
        } else {
            period = try container.decode(String.self, forKey: .period)
        }
    }

    var input: RateLimitInput { RateLimitInput(limit: limit, period: period) }
}

struct CreateAccessBody: Decodable {
    var name: String
    var groups: [String]
    var apis: [String]?
    var allApis: Bool?
    var rateLimit: RateLimitBody?
    var plan: String?
    var operationFilter: OperationFilter?

    var input: AccessInput {
        AccessInput(
            name: name, groups: groups, apis: apis, allApis: allApis, rateLimit: rateLimit?.input, plan: plan, operationFilter: operationFilter)
    }
}

struct PatchAccessBody: Decodable {
    var patch: AccessPatch

    enum CodingKeys: String, CodingKey { case name, groups, apis, allApis, rateLimit, plan, operationFilter }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rateLimit: RateLimitInput?? =
            container.contains(.rateLimit) ? .some(try container.decodeIfPresent(RateLimitBody.self, forKey: .rateLimit)?.input) : .none
        patch = AccessPatch(
            name: try container.decodeIfPresent(String.self, forKey: .name),
            groups: try container.decodeIfPresent([String].self, forKey: .groups),
            apis: try container.decodeIfPresent([String].self, forKey: .apis),
            allApis: try container.decodeIfPresent(Bool.self, forKey: .allApis),
            rateLimit: rateLimit,
            plan: container.contains(.plan) ? .some(try container.decodeIfPresent(String.self, forKey: .plan)) : .none,
            operationFilter: container.contains(.operationFilter)
                ? .some(try container.decodeIfPresent(OperationFilter.self, forKey: .operationFilter)) : .none)
    }
}

/// `{"limit": 10000, "period": "month"}`.
struct QuotaBody: Decodable {
    var limit: Int
    var period: String

    var input: QuotaInput { QuotaInput(limit: limit, period: period) }
}

/// A plan to create, or a patch of one: absent fields are left as they are, `null` removes a rate limit or quota.
struct PlanBody: Decodable {
    var input: PlanInput

    enum CodingKeys: String, CodingKey { case name, description, rateLimit, quota, bucket }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        input = PlanInput(
            name: try container.decodeIfPresent(String.self, forKey: .name),
            description: try container.decodeIfPresent(String.self, forKey: .description),
            rateLimit: container.contains(.rateLimit) ? .some(try container.decodeIfPresent(RateLimitBody.self, forKey: .rateLimit)?.input) : .none,
            quota: container.contains(.quota) ? .some(try container.decodeIfPresent(QuotaBody.self, forKey: .quota)?.input) : .none,
            bucket: try container.decodeIfPresent(String.self, forKey: .bucket))
    }
}

struct CreateKeyBody: Decodable {
    var name: String
    var expiresAt: Date?
    var applicationId: UUID?
    var scopes: [String]?
}

struct RotateKeyBody: Decodable {
    var overlapSeconds: Int?
}

struct ApplicationBody: Decodable {
    var name: String?
    var description: String?
}

/// Every admin API request body, decoded and checked as its route does before any store is touched: the fuzzer's
/// way in (`Fuzz/`), so that no body can crash the control plane however it is malformed.
package enum AdminRequestBodies {
    /// Reads `body` as each route's body type in turn; every failure must be a `PorticoError`.
    package static func decodeEach(_ body: Data) {
        func attempt<T: Decodable>(_ type: T.Type, then check: (T) throws -> Void = { _ in }) {
            do {
                try check(try JSONCoding.decoder().decode(type, from: body))
            } catch let error as DecodingError {
                _ = "\(JSONCoding.translate(error))"
            } catch {
                _ = "\(error)"
            }
        }
        attempt(CreateUserBody.self)
        attempt(PatchUserBody.self)
        attempt(CreateGroupBody.self)
        attempt(CreateAPIBody.self)
        attempt(PatchAPIBody.self) { body in
            if let oidc = body.patch.oidc, let settings = oidc { _ = try settings.compiled(pathPrefix: body.patch.pathPrefix ?? "/fuzz") }
        }
        attempt(CreateAccessBody.self) { _ = $0.input }
        attempt(PatchAccessBody.self)
        attempt(PlanBody.self)
        attempt(CreateKeyBody.self)
        attempt(RotateKeyBody.self) { _ = try KeyRotation.checkedOverlap($0.overlapSeconds) }
        attempt(ApplicationBody.self)
        attempt(KeyPolicy.self) { _ = try $0.validated() }
        attempt(AuthSettingsInput.self) { input in
            if let mapping = input.claimsMapping { _ = try mapping.compiled() }
            if let jwt = input.jwt, let settings = jwt { _ = try AuthSettings(mode: input.mode ?? .jwt, jwt: settings).compiled() }
        }
        attempt(IdentityProviderSettings.self) { _ = try $0.compiled() }
        attempt([String: JSONValue].self)
    }
}
