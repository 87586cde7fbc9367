import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore

/// What an admin asks the explainer: a method and a URL on the gateway, with a credential, a user, or neither.
public struct ExplainInput: Codable, Sendable {
    public var method: String
    public var url: String
    public var credential: String?
    public var userId: UUID?

    public init(method: String, url: String, credential: String? = nil, userId: UUID? = nil) {
        self.method = method
        self.url = url
        self.credential = credential
        self.userId = userId
    }
}

/// Why was a call refused: the gateway of this process explains it with its own decision (`RequestExplainer`),
/// and the database adds what the snapshot does not hold: whose key it is, and why a key it does not know is not
/// active (revoked, expired, turned off by the mode switch). The credential is neither stored nor logged.
public struct ExplainService: Sendable {
    let store: AdminStore
    let explainer: RequestExplainer?
    /// The host a path-only URL is taken to be on (the gateway as consumers reach it).
    let gatewayHost: String

    public init(store: AdminStore, explainer: RequestExplainer?, gatewayURL: String) {
        self.store = store
        self.explainer = explainer
        self.gatewayHost =
            URLComponents(string: gatewayURL).flatMap { url in url.host.map { host in url.port.map { "\(host):\($0)" } ?? host } }
            ?? "localhost"
    }

    public var isAvailable: Bool { explainer != nil }

    public func explain(_ input: ExplainInput) async throws -> Explanation {
        guard let explainer else { throw PorticoError.unavailable("the explainer needs the gateway of this process (portico serve)") }
        if input.credential != nil, input.userId != nil {
            throw PorticoError.invalid(field: "userId", reason: "give a credential or a user, not both")
        }
        var request = ExplainRequest(method: input.method, url: input.url, credential: input.credential?.trimmingCharacters(in: .whitespaces))
        if request.credential?.isEmpty == true { request.credential = nil }
        if let userId = input.userId {
            let user = try await store.read { try await store.users.require(userId, on: $0) }
            request.caller = ExplainedCaller(id: user.id, name: user.email, groups: user.groups, disabled: user.disabled)
        }
        var explanation = try await explainer.explain(request, defaultHost: gatewayHost)
        if let credential = request.credential, SecretFormat.apiKey.matches(credential) {
            explanation = try await withStoredKey(SecretHash(of: credential), explanation)
        }
        return explanation
    }

    /// What the gateway reads from a consumer's token (the portal's token tester); nil outside JWT mode.
    public func read(token: String) async throws -> TokenReading? {
        guard let explainer else { throw PorticoError.unavailable("the token tester needs the gateway of this process (portico serve)") }
        guard !token.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PorticoError.invalid(field: "token", reason: "paste a token to test")
        }
        return try await explainer.read(token: token)
    }

    /// Adds the stored key's record to the credential step.
    private func withStoredKey(_ hash: SecretHash, _ explanation: Explanation) async throws -> Explanation {
        let found = try await store.read { connection -> (APIKeyInfo, User?)? in
            guard let key = try await store.keys.find(secretHash: hash, on: connection) else { return nil }
            return (key, try? await store.users.require(key.userId, on: connection))
        }
        var explained = explanation
        guard let index = explained.steps.firstIndex(where: { $0.step == .credential }) else { return explained }
        let record: ExplainedCheck
        if let (key, owner) = found {
            let state: String
            switch key.state {
            case .active: state = "active"
            case .revoked: state = "revoked at \(Format.date(key.revokedAt))"
            case .expired: state = "expired at \(Format.date(key.expiresAt))"
            case .disabledByModeSwitch: state = "turned off by the switch to JWT mode; the switch back turns it on again"
            }
            record = ExplainedCheck(
                check: "stored key", outcome: key.state == .active ? .passed : .failed,
                detail: "key '\(key.name)' (\(key.prefix)…) of \(owner.map { "'\($0.email)'" } ?? "user \(key.userId.headerText)"): \(state)")
        } else {
            record = ExplainedCheck(check: "stored key", outcome: .failed, detail: "no key with this secret was ever issued by Portico")
        }
        explained.steps[index].checks = (explained.steps[index].checks ?? []) + [record]
        return explained
    }
}
