import Testing

@testable import PorticoCore

@Suite struct RequestIDTests {
    @Test func aClientsIdIsKeptOnlyWhenItCannotBreakAHeader() {
        for good in ["a", "trace-abc.123:7", "0f8fad5b-d9cb-469f-a165-70867728950e", String(repeating: "x", count: 200)] {
            #expect(RequestID.isWellFormed(good), "\(good)")
        }
        for bad in ["", "a b", "a,b", "a;b", "a\"b", "a\\b", "tab\t", "é", String(repeating: "x", count: 201)] {
            #expect(!RequestID.isWellFormed(bad), "\(bad)")
        }
    }

    @Test func aConnectionsIdsShareARandomPrefixAndCountUp() {
        var first = RequestIDGenerator()
        var second = RequestIDGenerator()
        let ids = [first.next(), first.next(), second.next()]
        #expect(ids[0].hasSuffix("-1") && ids[1].hasSuffix("-2"))
        #expect(ids[0].dropLast(2) == ids[1].dropLast(2))
        #expect(ids[0] != ids[2], "another connection, another prefix")
        #expect(ids.allSatisfy { RequestID.isWellFormed($0) && $0.count == 18 })
    }
}
