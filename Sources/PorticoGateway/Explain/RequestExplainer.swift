import Foundation
import NIOCore
import NIOHTTP1
import PorticoCore

/// A request to explain: a method and a URL on the gateway, with a credential (an API key or a JWT) or a user
/// standing in for one.
public struct ExplainRequest: Sendable {
    public var method: String
    /// An absolute `http(s)` URL on the gateway, or a path with its query.
    public var url: String
    public var credential: String?
    /// Explains the call as this user makes it, without a credential: the credential step is skipped.
    public var caller: ExplainedCaller?

    public init(method: String, url: String, credential: String? = nil, caller: ExplainedCaller? = nil) {
        self.method = method
        self.url = url
        self.credential = credential
        self.caller = caller
    }
}

/// A portal user as the explainer's stand-in for a credential.
public struct ExplainedCaller: Sendable {
    public let id: UUID
    public let name: String
    public let groups: [String]
    /// The gateway refuses a disabled user's calls at the credential step.
    public let disabled: Bool

    public init(id: UUID, name: String, groups: [String], disabled: Bool = false) {
        self.id = id
        self.name = name
        self.groups = groups
        self.disabled = disabled
    }
}

/// Runs the gateway's own decision (`GatewayDecider`) on a request it builds, against the snapshot the gateway
/// holds now, with a `DecisionTrace` that records each step. Nothing is counted, no key is marked used, and no
/// upstream is contacted.
public struct RequestExplainer: Sendable {
    let decider: GatewayDecider

    /// Credentials longer than this are not tokens anyone issues.
    static let maxCredentialBytes = 16 * 1024

    public func explain(_ input: ExplainRequest, defaultHost: String) async throws(PorticoError) -> Explanation {
        var request = try build(input, defaultHost: defaultHost)
        let trace = DecisionTrace()
        request.trace = trace
        var generator = RequestIDGenerator()
        request.assignRequestId(&generator)
        var decision: GatewayDecision
        if let caller = input.caller {
            decision = decideAs(caller, request)
        } else {
            decision = decider.decide(request)
        }
        while true {
            switch decision {
            case .readFormBody:
                request.formBody = ByteBuffer()
                decision = decider.decide(request)
            case .later(let next):
                decision = await next()
            case .answer(let answer, _, _):
                return Explanation(
                    decision: Self.decision(answer), steps: trace.steps, upstreamRequest: nil,
                    responseHeaders: Self.fields(answer.headers.filter { !$0.name.equalsIgnoringASCIICase(HeaderNames.contentType) }))
            case .forward(let plan):
                return Explanation(
                    decision: .init(forwarded: true, status: nil, error: nil, message: nil), steps: trace.steps,
                    upstreamRequest: Self.upstreamRequest(plan, redacting: input.credential), responseHeaders: Self.fields(plan.responseHeaders))
            }
        }
    }

    /// The route step as the gateway takes it, then the rest with the user admitted in their groups.
    private func decideAs(_ caller: ExplainedCaller, _ request: GatewayRequest) -> GatewayDecision {
        let api: GatewayAPI
        let snapshot: PolicySnapshot
        switch decider.route(request) {
        case .answered(let decision): return decision
        case .matched(let matched, let held): (api, snapshot) = (matched, held)
        }
        if caller.disabled {
            return decider.authorize(.refused(.invalidCredential("user '\(caller.name)' is disabled")), request, api: api, snapshot: snapshot)
        }
        request.trace?.record(
            .credential, .skipped, "explained as user '\(caller.name)' (\(caller.id.headerText)) in groups \(GatewayDecider.listed(caller.groups))")
        var changes = UpstreamRequestChanges()
        changes.removesAuthorization = true
        CallerHeaders.add(user: caller.id.headerText, groups: caller.groups, to: &changes)
        return decider.authorize(
            .admitted(Consumer(id: caller.id, groups: caller.groups, label: nil), changes), request, api: api, snapshot: snapshot)
    }

    func build(_ input: ExplainRequest, defaultHost: String) throws(PorticoError) -> GatewayRequest {
        let method = input.method.uppercased()
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw .invalid(field: "method", reason: "'\(input.method)' is not an HTTP method")
        }
        guard !input.url.isEmpty, input.url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalid(field: "url", reason: "the URL must be visible ASCII without spaces (percent-encode the rest)")
        }
        var host = defaultHost
        var target = input.url
        if !input.url.hasPrefix("/") {
            guard let url = URLComponents(string: input.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let urlHost = url.host, !urlHost.isEmpty
            else {
                throw .invalid(field: "url", reason: "'\(input.url)' is neither an http(s) URL on the gateway nor a path starting with '/'")
            }
            host = url.port.map { "\(urlHost):\($0)" } ?? urlHost
            target = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        var fields = ["Host: \(host)"]
        var body = ""
        if let credential = input.credential {
            guard !credential.isEmpty, credential.utf8.count <= Self.maxCredentialBytes, credential.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else {
                throw .invalid(field: "credential", reason: "a credential is up to 16 KiB of visible ASCII, without spaces")
            }
            switch placement(for: credential) {
            case .header(let name, let value): fields.append("\(name): \(value)")
            case .query(let name): target += (target.contains("?") ? "&" : "?") + name + "=" + credential
            case .cookie(let name): fields.append("Cookie: \(name)=\(credential)")
            case .form(let name):
                body = name + "=" + credential
                fields.append("Content-Type: application/x-www-form-urlencoded")
                fields.append("Content-Length: \(body.utf8.count)")
            }
        }
        let head = "\(method) \(target) HTTP/1.1\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
        guard var request = GatewayRequest.parsing(ByteBuffer(string: head), clientAddress: "127.0.0.1") else {
            throw .invalid(field: "url", reason: "the method and URL do not make an HTTP/1.1 request the gateway accepts")
        }
        if !body.isEmpty { request.formBody = ByteBuffer(string: body) }
        return request
    }

    private enum Placement {
        case header(String, String)
        case query(String)
        case cookie(String)
        case form(String)
    }

    /// Where the gateway looks first for a credential now: `Authorization: Bearer` for API keys, the first token
    /// source of the JWT settings in JWT mode.
    private func placement(for credential: String) -> Placement {
        let snapshot = decider.policy.snapshot
        guard snapshot.auth.mode == .jwt, let source = snapshot.auth.jwt?.tokenSources.first else {
            return .header(HeaderNames.authorization, "Bearer " + credential)
        }
        switch source {
        case .header(let name): return .header(name, name.equalsIgnoringASCIICase(HeaderNames.authorization) ? "Bearer " + credential : credential)
        case .query(let name): return .query(name)
        case .cookie(let name): return .cookie(name)
        case .form(let name): return .form(name)
        }
    }

    private struct AnswerBody: Decodable {
        let error: String?
        let message: String?
        let detail: String?
    }

    private static func decision(_ answer: GatewayAnswer) -> Explanation.Decision {
        let body = try? JSONDecoder().decode(AnswerBody.self, from: Data(answer.body.readableBytesView))
        return .init(forwarded: false, status: Int(answer.status.code), error: body?.error, message: body?.message ?? body?.detail)
    }

    private static func fields(_ headers: some Sequence<(name: String, value: String)>) -> [Explanation.Field] {
        headers.map { Explanation.Field(name: $0.name, value: $0.value) }
    }

    /// The head the plan would send, as fields; the credential is redacted wherever it appears.
    private static func upstreamRequest(_ plan: ForwardPlan, redacting credential: String?) -> Explanation.UpstreamRequest {
        func redacted(_ text: some StringProtocol) -> String {
            guard let credential, !credential.isEmpty else { return String(text) }
            return text.replacingOccurrences(of: credential, with: "[redacted]")
        }
        let lines = String(buffer: plan.head).split(separator: "\r\n", omittingEmptySubsequences: true)
        let requestLine = lines.first?.split(separator: " ") ?? []
        let method = requestLine.first.map(String.init) ?? ""
        let target = requestLine.count > 1 ? String(requestLine[1]) : "/"
        let headers = lines.dropFirst().compactMap { line -> Explanation.Field? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let sensitive = name.equalsIgnoringASCIICase(HeaderNames.authorization) || name.equalsIgnoringASCIICase("proxy-authorization")
            return Explanation.Field(name: name, value: sensitive ? "[redacted]" : redacted(value))
        }
        return .init(method: method, url: plan.api.upstream.origin + redacted(target), headers: headers)
    }
}
