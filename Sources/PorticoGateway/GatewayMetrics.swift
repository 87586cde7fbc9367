import CoreMetrics
import Foundation
import Synchronization

/// The gateway's metrics, made through an injected factory so each process (and each test) owns its registry.
/// Request counts are also kept as plain values, for the dashboard's overview: a metrics backend is for
/// scrapers, and reading figures back out of its text output would tie the page to one exposition format.
public final class GatewayMetrics: Sendable {
    private struct CounterKey: Hashable {
        let api: String
        let status: Int
    }

    private struct UserCounterKey: Hashable {
        let api: String
        let user: String
    }

    /// One `portico_gateway_requests_total` series and its running total.
    private final class RequestCounter: Sendable {
        let status: Int
        let counter: CoreMetrics.Counter
        let total = Atomic<Int>(0)

        init(status: Int, counter: CoreMetrics.Counter) {
            self.status = status
            self.counter = counter
        }
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[CounterKey: RequestCounter]>([:])
    private let userCounters = Mutex<[UserCounterKey: CoreMetrics.Counter]>([:])
    private let latency: CoreMetrics.Timer
    private let policyVersion: Gauge
    private let reloads: CoreMetrics.Counter

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.latency = CoreMetrics.Timer(
            label: "portico_gateway_request_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        self.policyVersion = Gauge(label: "portico_policy_version", dimensions: [], factory: factory)
        self.reloads = CoreMetrics.Counter(label: "portico_policy_reloads_total", dimensions: [], factory: factory)
    }

    /// One answered request: counted per API and status, and its duration recorded.
    public func recordRequest(api: String, status: Int, duration: Duration) {
        let key = CounterKey(api: api, status: status)
        let request = counters.withLock { counters in
            if let existing = counters[key] { return existing }
            let made = RequestCounter(
                status: status,
                counter: CoreMetrics.Counter(
                    label: "portico_gateway_requests_total", dimensions: [("api", api), ("status", String(status))], factory: factory))
            counters[key] = made
            return made
        }
        request.counter.increment()
        request.total.add(1, ordering: .relaxed)
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

    /// A policy snapshot was installed.
    public func recordReload(version: Int64) {
        reloads.increment()
        policyVersion.record(Double(version))
    }

    /// Requests answered since this process started, by status over every API, in status order.
    public func requestsByStatus() -> [(status: Int, count: Int)] {
        let series = counters.withLock { Array($0.values) }
        var totals: [Int: Int] = [:]
        for request in series { totals[request.status, default: 0] += request.total.load(ordering: .relaxed) }
        return totals.sorted { $0.key < $1.key }.map { (status: $0.key, count: $0.value) }
    }
}
