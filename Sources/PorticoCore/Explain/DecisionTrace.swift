import Synchronization

/// The steps of the gateway's decision, in the order it takes them.
public enum DecisionStep: String, Sendable, Codable, CaseIterable {
    case route, credential, access, limits, upstream
}

public enum StepOutcome: String, Sendable, Codable {
    case passed, failed, skipped
}

/// One check inside a step (a token's signature, its `exp`), worded as the refusal would word it.
public struct ExplainedCheck: Sendable, Codable, Equatable {
    public let check: String
    public let outcome: StepOutcome
    public let detail: String

    public init(check: String, outcome: StepOutcome, detail: String) {
        self.check = check
        self.outcome = outcome
        self.detail = detail
    }
}

public struct ExplainedStep: Sendable, Codable, Equatable {
    public let step: DecisionStep
    public var outcome: StepOutcome
    public var detail: String
    public var checks: [ExplainedCheck]?

    public init(step: DecisionStep, outcome: StepOutcome, detail: String, checks: [ExplainedCheck]? = nil) {
        self.step = step
        self.outcome = outcome
        self.detail = detail
        self.checks = checks
    }
}

/// What the data plane's own functions record while they decide one request for the explainer. A request the
/// gateway serves carries none, and every recording site is one nil check. A traced request is also a dry run:
/// it counts against no rate limit or quota and marks no key as used.
public final class DecisionTrace: Sendable {
    private struct State {
        var steps: [ExplainedStep] = []
        var checks: [ExplainedCheck] = []
        var principal: JWTPrincipal?
    }

    private let state = Mutex(State())

    public init() {}

    /// Records a step; the checks recorded since the last step belong to it.
    public func record(_ step: DecisionStep, _ outcome: StepOutcome, _ detail: String) {
        state.withLock { state in
            let checks = state.checks
            state.checks = []
            state.steps.append(ExplainedStep(step: step, outcome: outcome, detail: detail, checks: checks.isEmpty ? nil : checks))
        }
    }

    public func check(_ name: String, _ outcome: StepOutcome, _ detail: String) {
        state.withLock { $0.checks.append(ExplainedCheck(check: name, outcome: outcome, detail: detail)) }
    }

    /// Records `failure` as a failed check, or the check as passed with `passed`'s wording; returns `failure`.
    @discardableResult
    public func check(_ name: String, failure: String?, passed: @autoclosure () -> String) -> String? {
        check(name, failure == nil ? .passed : .failed, failure ?? passed())
        return failure
    }

    /// The steps so far, with a step for every one the decision did not reach (`skipped`), in order.
    public var steps: [ExplainedStep] {
        state.withLock { state in
            var steps = state.steps
            if !state.checks.isEmpty {
                steps.append(ExplainedStep(step: .credential, outcome: .failed, detail: "", checks: state.checks))
            }
            for step in DecisionStep.allCases where !steps.contains(where: { $0.step == step }) {
                steps.append(ExplainedStep(step: step, outcome: .skipped, detail: "not reached: an earlier step decided"))
            }
            return steps.sorted { DecisionStep.allCases.firstIndex(of: $0.step) ?? 0 < DecisionStep.allCases.firstIndex(of: $1.step) ?? 0 }
        }
    }

    /// The principal a token's claims mapped onto, once they did.
    public var principal: JWTPrincipal? {
        get { state.withLock { $0.principal } }
        set { state.withLock { $0.principal = newValue } }
    }

    /// The checks recorded and not yet given to a step.
    public var pendingChecks: [ExplainedCheck] { state.withLock { $0.checks } }

    /// Whether a step was recorded already.
    public func has(_ step: DecisionStep) -> Bool { state.withLock { $0.steps.contains { $0.step == step } } }
}
