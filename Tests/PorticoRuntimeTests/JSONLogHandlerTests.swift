import Foundation
import Logging
import Synchronization
import Testing

@testable import PorticoRuntime

/// `--log-format json`: every line one JSON object a log pipeline can parse, whatever the message holds.
@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    func logger(_ lines: Lines) -> Logger {
        var logger = Logger(label: "portico.access") { label in JSONLogHandler(label: label) { line in lines.lines.withLock { $0.append(line) } } }
        logger[metadataKey: "replica"] = "a"
        return logger
    }

    @Test func eachLineIsOneObjectWithTypedMetadata() throws {
        let lines = Lines()
        logger(lines).info(
            "access",
            metadata: [
                "status": .stringConvertible(UInt(200)), "durationMs": .stringConvertible(1.25), "ok": .stringConvertible(true),
                "path": "/orders/1", "tags": ["a", "b"], "nested": ["k": "v"],
            ])
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "portico.access")
        #expect(object["message"] as? String == "access")
        #expect(object["status"] as? Int == 200)
        #expect(object["durationMs"] as? Double == 1.25)
        #expect(object["ok"] as? Bool == true)
        #expect(object["path"] as? String == "/orders/1")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect((object["nested"] as? [String: String]) == ["k": "v"])
        #expect(object["replica"] as? String == "a", "the logger's own metadata is there too")
        let time = try #require(object["time"] as? String)
        #expect(try Date(time, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) <= Date())
    }

    @Test func quotesLineBreaksAndControlCharactersCannotBreakTheLine() throws {
        let lines = Lines()
        let hostile = "a\"b\\c\nd\r\te\u{01}f\u{2028}g"
        logger(lines).warning("\(hostile)", metadata: [hostile: .string(hostile), "message": "forged", "level": "forged"])
        let line = try #require(lines.all.first)
        #expect(line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == hostile)
        #expect(object[hostile] as? String == hostile)
        #expect(object["level"] as? String == "warning", "metadata cannot overwrite the line's own fields")
    }
}
