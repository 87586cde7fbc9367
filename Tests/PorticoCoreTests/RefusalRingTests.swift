import Foundation
import PorticoCore
import Testing

/// Each gateway's recent refusals: bounded per consumer and in all, however many come, and each written once.
@Suite struct RefusalRingTests {
    func refusal(_ consumer: UUID, _ n: Int) -> Refusal {
        Refusal(
            consumer: consumer, at: Date(timeIntervalSince1970: TimeInterval(n)), requestId: "r-\(n)", method: "GET", path: "/orders/\(n)",
            api: "orders", status: 429, error: "rate_limited", step: "limits", message: "rate limit exceeded")
    }

    @Test func aFloodOfOneConsumerKeepsTheNewestFifty() {
        var ring = RefusalRing(maxConsumers: 4)
        let consumer = UUID()
        for n in 0..<100_000 { ring.add(refusal(consumer, n)) }
        #expect(ring.recent(of: consumer).count == Refusal.keptPerConsumer)
        #expect(ring.recent(of: consumer).first?.requestId == "r-99999", "newest first")
        let taken = ring.takeUnwritten()
        #expect(taken.map(\.requestId) == (99_950..<100_000).map { "r-\($0)" }, "the newest 50, oldest first")
        #expect(ring.takeUnwritten().isEmpty, "each is taken once")
        ring.add(refusal(consumer, 100_000))
        #expect(ring.takeUnwritten().map(\.requestId) == ["r-100000"])
        #expect(ring.recent(of: consumer).count == Refusal.keptPerConsumer, "written ones stay kept")
    }

    @Test func manyConsumersEvictWrittenOnesAndDropWhenNoneIsWritten() {
        var ring = RefusalRing(maxConsumers: 3)
        let first = (0..<3).map { _ in UUID() }
        for (index, consumer) in first.enumerated() { ring.add(refusal(consumer, index)) }
        let stranger = UUID()
        ring.add(refusal(stranger, 10))
        #expect(ring.dropped == 1, "every kept consumer still had a refusal to write")
        #expect(ring.recent(of: stranger).isEmpty)
        #expect(ring.takeUnwritten().count == 3)
        for n in 0..<1_000 { ring.add(refusal(UUID(), 100 + n)) }
        #expect(ring.consumerCount == 3, "bounded in consumers too")
        #expect(ring.dropped > 1)
    }

    @Test func aFailedWriteGivesBackWhatIsStillKept() {
        var ring = RefusalRing(maxConsumers: 2)
        let consumer = UUID()
        for n in 0..<10 { ring.add(refusal(consumer, n)) }
        let taken = ring.takeUnwritten()
        ring.add(refusal(consumer, 10))
        ring.restore(taken)
        #expect(ring.takeUnwritten().map(\.requestId) == (0...10).map { "r-\($0)" })
    }
}
