extension Duration {
    /// Whole nanoseconds, for APIs (NIO time amounts, metrics timers, the limiter's clock) that count in them.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
