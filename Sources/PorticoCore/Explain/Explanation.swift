/// What the explainer answers: the gateway's decision on a request, each step that led to it, and what would be
/// sent upstream (credentials redacted).
public struct Explanation: Sendable, Codable, Equatable {
    public struct Decision: Sendable, Codable, Equatable {
        /// The request would go to the upstream; `status` is then nil.
        public let forwarded: Bool
        /// The status of the gateway's own answer.
        public let status: Int?
        public let error: String?
        public let message: String?

        public init(forwarded: Bool, status: Int?, error: String?, message: String?) {
            self.forwarded = forwarded
            self.status = status
            self.error = error
            self.message = message
        }
    }

    public struct Field: Sendable, Codable, Equatable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct UpstreamRequest: Sendable, Codable, Equatable {
        public let method: String
        public let url: String
        public let headers: [Field]

        public init(method: String, url: String, headers: [Field]) {
            self.method = method
            self.url = url
            self.headers = headers
        }
    }

    public let decision: Decision
    public var steps: [ExplainedStep]
    public let upstreamRequest: UpstreamRequest?
    /// The fields the gateway would add to the answer (rate-limit state, `Retry-After`, `WWW-Authenticate`).
    public let responseHeaders: [Field]

    public init(decision: Decision, steps: [ExplainedStep], upstreamRequest: UpstreamRequest?, responseHeaders: [Field]) {
        self.decision = decision
        self.steps = steps
        self.upstreamRequest = upstreamRequest
        self.responseHeaders = responseHeaders
    }

    public func step(_ name: DecisionStep) -> ExplainedStep? { steps.first { $0.step == name } }
}
