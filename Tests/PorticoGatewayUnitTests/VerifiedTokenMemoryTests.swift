import Foundation
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

    @Test func anExpiredTokenIsNotRemembered() {
        let memory = VerifiedTokenMemory(capacity: 3)
        memory.remember("expired", claims: claims, now: 1_000, keyGeneration: 0)
        #expect(memory.count == 0)
    }

    @Test func aFullMemoryEvictsTheTokensNotUsedSinceTheHandLastPassedAndKeepsTheOnesInUse() {
        let memory = VerifiedTokenMemory(capacity: 3)
        for index in 0..<3 { memory.remember("t\(index)", claims: claims, now: 0, keyGeneration: 0) }
        #expect(memory.claims(of: "t0", now: 0, keyGeneration: 0) != nil)
        #expect(memory.claims(of: "t2", now: 0, keyGeneration: 0) != nil)

        memory.remember("t3", claims: claims, now: 0, keyGeneration: 0)
        #expect(memory.count == 3)
        #expect(memory.claims(of: "t1", now: 0, keyGeneration: 0) == nil, "the one token not used is the one to go")
        for kept in ["t0", "t2", "t3"] { #expect(memory.claims(of: kept, now: 0, keyGeneration: 0) != nil, "\(kept)") }
    }

    @Test func aFloodOfNewTokensNeverPushesOutATokenThatKeepsComingBack() {
        let memory = VerifiedTokenMemory(capacity: 100)
        memory.remember("regular", claims: claims, now: 0, keyGeneration: 0)
        for index in 0..<10_000 {
            memory.remember("once-\(index)", claims: claims, now: 0, keyGeneration: 0)
            if index % 50 == 0 { #expect(memory.claims(of: "regular", now: 0, keyGeneration: 0) != nil, "lost after \(index)") }
            #expect(memory.count <= 100)
        }
    }

    @Test func theBytesHeldStayWithinTheByteBound() {
        let big: [String: JSONValue] = ["sub": .string("u1"), "blob": .string(String(repeating: "x", count: 4_000))]
        let perEntry = VerifiedTokenMemory.estimatedBytes(token: "t-0000", claims: big)
        let memory = VerifiedTokenMemory(capacity: 1_000, byteLimit: perEntry * 5)
        for index in 0..<50 {
            memory.remember("t-\(String(format: "%04d", index))", claims: big, now: 0, keyGeneration: 0)
            #expect(memory.bytes <= perEntry * 5)
        }
        #expect(memory.count == 5)
        #expect(memory.claims(of: "t-0049", now: 0, keyGeneration: 0) != nil)
        // An entry larger than the whole bound is not kept at all.
        memory.remember("huge", claims: ["blob": .string(String(repeating: "y", count: perEntry * 6))], now: 0, keyGeneration: 0)
        #expect(memory.claims(of: "huge", now: 0, keyGeneration: 0) == nil)
        #expect(memory.count == 5)
    }

    @Test func rememberingATokenAgainReplacesItsEntry() {
        let memory = VerifiedTokenMemory(capacity: 2)
        memory.remember("t", claims: claims, now: 0, keyGeneration: 1)
        memory.remember("t", claims: claims, now: 0, keyGeneration: 2)
        #expect(memory.count == 1)
        #expect(memory.claims(of: "t", now: 0, keyGeneration: 2) != nil)
    }
}
