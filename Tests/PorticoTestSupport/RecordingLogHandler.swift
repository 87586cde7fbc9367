import Logging
import Synchronization

/// A log handler that keeps the messages, for tests of what a component says it is doing.
public final class LogRecorder: Sendable {
    private let messages = Mutex<[String]>([])

    public init() {}

    public var recorded: [String] { messages.withLock { $0 } }

    /// A logger whose messages (at `level` and above) this recorder keeps.
    public func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "recorded") { _ in Handler(recorder: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func record(_ message: String) { messages.withLock { $0.append(message) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { recorder.record(event.message.description) }
    }
}
