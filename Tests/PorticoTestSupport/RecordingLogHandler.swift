import Logging
import Synchronization

/// A log handler that keeps the messages with their metadata, for tests of what a component says it is doing.
public final class LogRecorder: Sendable {
    private let entries = Mutex<[(message: String, metadata: [String: String])]>([])

    public init() {}

    public var recorded: [String] { entries.withLock { $0.map(\.message) } }

    /// The metadata value `key` of each message `message`, in order.
    public func metadata(_ key: String, of message: String) -> [String?] {
        entries.withLock { $0.filter { $0.message == message }.map { $0.metadata[key] } }
    }

    /// A logger whose messages (at `level` and above) this recorder keeps.
    public func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "recorded") { _ in Handler(recorder: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func record(_ message: String, metadata: [String: String]) {
        entries.withLock { $0.append((message, metadata)) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            recorder.record(event.message.description, metadata: merged.mapValues(\.description))
        }
    }
}
