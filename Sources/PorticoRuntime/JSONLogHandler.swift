import Foundation
import Logging

/// Logs one JSON object per line on standard error (`--log-format json`): `time` (UTC, milliseconds), `level`,
/// `logger` (the label), `message`, then the metadata by name. Numbers and booleans in metadata stay JSON
/// numbers and booleans, so a log pipeline can sum `durationMs` without parsing.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: @Sendable (String) -> Void

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, metadataProvider: metadataProvider) { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// `output` gets each line, newline included (tests read them).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, output: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        var line = #"{"time":"#
        Self.appendString(Self.timestamp(Date()), to: &line)
        line += #","level":"#
        Self.appendString(event.level.rawValue, to: &line)
        line += #","logger":"#
        Self.appendString(label, to: &line)
        line += #","message":"#
        Self.appendString(event.message.description, to: &line)
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !Self.reserved.contains(key) {
            line += ","
            Self.appendString(key, to: &line)
            line += ":"
            Self.append(value, to: &line)
        }
        line += "}\n"
        output(line)
    }

    /// The fields every line has; metadata of the same names would make the object ambiguous, so it is dropped.
    private static let reserved: Set<String> = ["time", "level", "logger", "message"]

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text):
            appendString(text, to: &line)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as any BinaryInteger: line += number.description
            case let number as Double where number.isFinite: line += number.description
            case let flag as Bool: line += flag ? "true" : "false"
            default: appendString(convertible.description, to: &line)
            }
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                append(element, to: &line)
            }
            line += "]"
        case .dictionary(let values):
            line += "{"
            for (index, (key, element)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                append(element, to: &line)
            }
            line += "}"
        }
    }

    /// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
