import Foundation
import PorticoCore
import Testing

@Suite struct UUIDHeaderTextTests {
    @Test func itIsFoundationsTextWrittenDirectly() {
        var samples = (0..<1_000).map { _ in UUID() }
        samples.append(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        samples.append(UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)))
        for uuid in samples { #expect(uuid.headerText == uuid.uuidString) }
    }
}
