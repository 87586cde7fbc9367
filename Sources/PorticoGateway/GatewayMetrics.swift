import CoreMetrics
import Foundation
import Synchronization

/// The gateway's metrics, made through an injected factory so each process (and each test) owns its registry.
public final class GatewayMetrics: Sendable {
    struct CounterKey: Hashable {
        let api: String
        let status: Int
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[CounterKey: CoreMetrics.Counter]>([:])
    private let userCounters = Mutex<[UserCounterKey: CoreMetrics.Counter]>([:])

    struct UserCounterKey: Hashable {
        let api: String
        let user: String
    }
    private let latency: CoreMetrics.Timer
    private let policyVersion: Gauge
    private let reloads: CoreMetrics.Counter

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.latency = CoreMetrics.Timer(label: "portico_gateway_request_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        self.policyVersion = Gauge(label: "portico_policy_version", dimensions: [], factory: factory)
        self.reloads = CoreMetrics.Counter(label: "portico_policy_reloads_total", dimensions: [], factory: factory)
    }

    public func recordRequest(api: String, status: Int, duration: Duration) {
        let key = CounterKey(api: api, status: status)
        let counter = counters.withLock { counters in
            if let existing = counters[key] { return existing }
            let made = CoreMetrics.Counter(
                label: "portico_gateway_requests_total", dimensions: [("api", api), ("status", String(status))], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
        latency.recordNanoseconds(duration.nanoseconds)
    }

    /// Requests per user, labelled with the `usernameClaim`'s value; only recorded when that option is set.
    public func recordUserRequest(api: String, user: String) {
        let key = UserCounterKey(api: api, user: user)
        let counter = userCounters.withLock { counters in
            if let existing = counters[key] { return existing }
            let made = CoreMetrics.Counter(
                label: "portico_gateway_user_requests_total", dimensions: [("api", api), ("user", user)], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    public func recordReload(version: Int64) {
        reloads.increment()
        policyVersion.record(Double(version))
    }
}
