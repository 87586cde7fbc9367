extension Duration {
    /// Whole nanoseconds, for APIs (NIO time amounts, metrics timers, the limiter's clock) that count in them.
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }

    /// Seconds with their fraction, for SQL intervals (`make_interval(secs => …)`) and printed timings.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
