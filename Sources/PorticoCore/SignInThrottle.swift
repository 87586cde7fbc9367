/// How repeated failed sign-ins are slowed and then refused, per account and per address (OWASP's
/// "account lockout" with a time limit, so an attacker cannot lock a user out for good). Pure: the caller
/// keeps the failure count and the times.
public struct SignInThrottle: Sendable, Equatable {
    /// Failures counted together when they fall within this many seconds of the first.
    public var windowSeconds: Double
    /// Failures after which sign-ins are refused.
    public var maxFailures: Int
    public var lockoutSeconds: Double
    /// Failures after which each further attempt waits, `delayStepSeconds` more each time.
    public var delayAfter: Int
    public var delayStepSeconds: Double
    public var maxDelaySeconds: Double

    public init(
        windowSeconds: Double = 900, maxFailures: Int = 5, lockoutSeconds: Double = 900, delayAfter: Int = 2,
        delayStepSeconds: Double = 1, maxDelaySeconds: Double = 4
    ) {
        self.windowSeconds = windowSeconds
        self.maxFailures = maxFailures
        self.lockoutSeconds = lockoutSeconds
        self.delayAfter = delayAfter
        self.delayStepSeconds = delayStepSeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    public static let standard = SignInThrottle()

    /// The wait before answering an attempt made after `failures` recent failures.
    public func delaySeconds(afterFailures failures: Int) -> Double {
        guard failures > delayAfter else { return 0 }
        return min(Double(failures - delayAfter) * delayStepSeconds, maxDelaySeconds)
    }

    /// Whether a failure that brings the count to `failures` locks the subject out.
    public func locks(atFailures failures: Int) -> Bool { failures >= maxFailures }
}
