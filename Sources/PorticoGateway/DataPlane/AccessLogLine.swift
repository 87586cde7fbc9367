import Foundation
import Logging
import PorticoCore

/// One request in the access log: its id, what was asked, who asked, how it ended and which step of the decision
/// ended it (`route`, `credential`, `access`, `limits`, `upstream`, or `request` for a request refused before
/// any). The path is logged without its query, where a token may travel; no header is logged.
struct AccessLogLine {
    let requestId: String
    let method: String?
    let path: String?
    let status: UInt
    /// From the request head to the end of the answer.
    let duration: Duration
    let step: String
    var api: String?
    var consumer: UUID?
    /// The per-user metric's name for the caller (`usernameClaim`).
    var user: String?
    /// From sending the request upstream to the head of its answer.
    var upstream: Duration?

    init(requestId: String, method: String?, path: String?, status: UInt, duration: Duration, step: String) {
        self.requestId = requestId
        self.method = method
        self.path = path
        self.status = status
        self.duration = duration
        self.step = step
    }

    func write(error: String?, to logger: Logger) {
        var metadata: Logger.Metadata = [
            "requestId": .string(requestId), "status": .stringConvertible(status), "durationMs": .stringConvertible(Self.milliseconds(duration)),
            "step": .string(step),
        ]
        if let method { metadata["method"] = .string(method) }
        if let path { metadata["path"] = .string(path) }
        if let api { metadata["api"] = .string(api) }
        if let consumer { metadata["consumer"] = .string(consumer.headerText) }
        if let user { metadata["user"] = .string(user) }
        if let upstream { metadata["upstreamMs"] = .stringConvertible(Self.milliseconds(upstream)) }
        if let error { metadata["error"] = .string(error) }
        logger.info("access", metadata: metadata)
    }

    /// Milliseconds to the microsecond.
    static func milliseconds(_ duration: Duration) -> Double {
        (Double(duration.nanoseconds / 1_000) / 1_000)
    }
}
