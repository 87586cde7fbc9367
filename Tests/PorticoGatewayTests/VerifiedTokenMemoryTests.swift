import PorticoCore
import Testing

@testable import PorticoGateway

@Suite struct VerifiedTokenMemoryTests {
    let claims: [String: JSONValue] = ["sub": .string("u1"), "exp": .number(1_000)]

    @Test func aRememberedTokenIsFoundUnderTheSameKeySetOnly() {
        let memory = VerifiedTokenMemory()
        memory.remember("token", claims: claims, now: 100, keyGeneration: 1)
        #expect(memory.claims(of: "token", now: 101, keyGeneration: 1) == claims)
        #expect(memory.claims(of: "token", now: 101, keyGeneration: 2) == nil)
        #expect(memory.claims(of: "other", now: 101, keyGeneration: 1) == nil)
    }

    @Test func entriesEndAtExpOrAfterTheLifetimeWhicheverComesFirst() {
        let memory = VerifiedTokenMemory(lifetimeSeconds: 300)
        memory.remember("short", claims: claims, now: 900, keyGeneration: 0)
        #expect(memory.claims(of: "short", now: 999, keyGeneration: 0) != nil)
        #expect(memory.claims(of: "short", now: 1_000, keyGeneration: 0) == nil)

        memory.remember("long", claims: ["exp": .number(10_000)], now: 100, keyGeneration: 0)
        #expect(memory.claims(of: "long", now: 399, keyGeneration: 0) != nil)
        #expect(memory.claims(of: "long", now: 400, keyGeneration: 0) == nil)
    }

    @Test func anExpiredTokenIsNotRememberedAndAFullMemoryStartsOver() {
        let memory = VerifiedTokenMemory(capacity: 3)
        memory.remember("expired", claims: claims, now: 1_000, keyGeneration: 0)
        #expect(memory.count == 0)
        for index in 0..<3 { memory.remember("t\(index)", claims: claims, now: 0, keyGeneration: 0) }
        #expect(memory.count == 3)
        memory.remember("t3", claims: claims, now: 0, keyGeneration: 0)
        #expect(memory.count == 1)
        #expect(memory.claims(of: "t3", now: 0, keyGeneration: 0) != nil)
    }
}
