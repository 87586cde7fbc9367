import Foundation
import Testing

@testable import PorticoCore

@Suite struct RouteTableTests {
    func api(_ name: String, _ prefix: String, host: String? = nil, status: APIStatus = .published, strip: Bool = false) -> GatewayAPI {
        GatewayAPI(
            id: UUID(), name: name, pathPrefix: prefix, host: host, upstream: try! Upstream("http://127.0.0.1:9000/base"),
            stripPrefix: strip, status: status)
    }

    @Test func theLongestPrefixWins() {
        let table = RouteTable(apis: [api("root", "/"), api("orders", "/orders"), api("items", "/orders/items")])
        #expect(table.match(path: "/orders/items/3", host: String?.none)?.name == "items")
        #expect(table.match(path: "/orders/3", host: String?.none)?.name == "orders")
        #expect(table.match(path: "/orders", host: String?.none)?.name == "orders")
        #expect(table.match(path: "/other", host: String?.none)?.name == "root")
    }

    @Test func aPrefixMatchesWholeSegmentsOnly() {
        let table = RouteTable(apis: [api("orders", "/orders")])
        #expect(table.match(path: "/ordersX", host: String?.none) == nil)
        #expect(table.match(path: "/", host: String?.none) == nil)
    }

    @Test func aHostSpecificAPIBeatsAHostlessOneOnTheSamePrefix() {
        let table = RouteTable(apis: [api("any", "/v1"), api("acme", "/v1", host: "acme.example.com")])
        #expect(table.match(path: "/v1/x", host: "ACME.example.com:8000")?.name == "acme")
        #expect(table.match(path: "/v1/x", host: "other.example.com")?.name == "any")
        #expect(table.match(path: "/v1/x", host: String?.none)?.name == "any")
    }

    @Test func aLongerPrefixBeatsAHostMatch() {
        let table = RouteTable(apis: [api("acme", "/v1", host: "acme.example.com"), api("deep", "/v1/deep")])
        #expect(table.match(path: "/v1/deep/1", host: "acme.example.com")?.name == "deep")
    }

    @Test func disabledAPIsAreNotRouted() {
        let table = RouteTable(apis: [api("off", "/off", status: .disabled)])
        #expect(table.match(path: "/off", host: String?.none) == nil)
    }

    @Test func upstreamPathsJoinTheBasePath() {
        #expect(api("a", "/orders", strip: true).upstreamPath(for: "/orders/1") == "/base/1")
        #expect(api("a", "/orders", strip: true).upstreamPath(for: "/orders") == "/base/")
        #expect(api("a", "/orders").upstreamPath(for: "/orders/1") == "/base/orders/1")
        #expect(api("a", "/", strip: true).upstreamPath(for: "/x") == "/base/x")
    }
}
