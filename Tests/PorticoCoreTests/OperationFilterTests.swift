import Foundation
import Testing

@testable import PorticoCore

/// Operation filters: patterns compiled once, matched segment by segment, and the most generous grant that covers
/// each operation winning.
@Suite struct OperationFilterTests {
    let api = GatewayAPI(
        id: UUID(), name: "orders", pathPrefix: "/orders", host: nil, upstream: try! Upstream("http://127.0.0.1:1"), stripPrefix: true,
        status: .published)
    static let documented = [
        DocumentOperation(method: "get", path: "/items/{id}", operationId: "getItem", tags: ["read"]),
        DocumentOperation(method: "GET", path: "/items", operationId: "listItems", tags: ["read"]),
        DocumentOperation(method: "POST", path: "/items", operationId: "addItem", tags: ["write"]),
        DocumentOperation(method: "DELETE", path: "/items/{id}", operationId: "deleteItem", tags: ["write", "admin"]),
    ]

    func matches(_ pattern: String, _ method: String, _ path: String) throws -> Bool {
        try OperationPattern(parsing: pattern).matches(method: method, path: RequestPathSegments(Substring(path)))
    }

    @Test func patternsMatchSegmentBySegment() throws {
        #expect(try matches("GET /items/*", "GET", "/items/7"))
        #expect(try !matches("GET /items/*", "GET", "/items/7/notes"), "'*' is one segment")
        #expect(try !matches("GET /items/*", "GET", "/items"))
        #expect(try matches("GET /items/**", "GET", "/items/7/notes"))
        #expect(try !matches("GET /items/**", "GET", "/items"), "'**' is one segment or more")
        #expect(try matches("* /items/{id}", "PATCH", "/items/7/"), "a trailing slash is the same path")
        #expect(try !matches("GET /items/{id}", "POST", "/items/7"))
        #expect(try matches("get /", "GET", "/"))
    }

    @Test func aPathWithDotOrEmptySegmentsMatchesNothing() throws {
        for path in ["/items/../admin", "/items/./7", "/items/%2e%2E", "/items//7", "/items/%2E"] {
            #expect(try !matches("* /items/**", "GET", path), "\(path)")
        }
    }

    @Test func aPatternThatDoesNotReadIsRefusedNamingWhy() {
        let cases: [(String, String)] = [
            ("/items", "'/items' is not a method and a path, such as 'GET /orders/*'"),
            ("G3T /items", "'G3T' is not an HTTP method or '*'"),
            ("GET items", "the path 'items' does not start with '/'"),
            ("GET /**/items", "in '/**/items', '**' may only be the last segment"),
            ("GET /a/../b", "the path '/a/../b' holds a dot segment"),
        ]
        for (pattern, reason) in cases {
            #expect(throws: PorticoError.invalid(field: "operationFilter.operations[1]", reason: reason)) {
                try OperationFilter(operations: ["GET /fine", pattern]).validated()
            }
        }
        #expect(throws: PorticoError.self) { try OperationFilter().validated() }
    }

    @Test func tagsAndOperationIdsBecomeTheirOperationsPatterns() {
        let filter = OperationFilter(tags: ["admin"], operationIds: ["listItems"], operations: ["GET /health"])
        let patterns = filter.patterns(documented: Self.documented).map(\.description).sorted()
        #expect(patterns == ["DELETE /items/{id}", "GET /health", "GET /items"])
    }

    @Test func aFormsLinesReadAsAFilterAndBack() throws {
        let filter = try #require(OperationFilter(lines: "tag:read\n  operationId:addItem \r\nGET /health\n\n"))
        #expect(filter == OperationFilter(tags: ["read"], operationIds: ["addItem"], operations: ["GET /health"]))
        #expect(OperationFilter(lines: filter.lines) == filter)
        #expect(OperationFilter(lines: " \n") == nil)
    }

    func snapshot(_ grants: [AccessGrant]) -> PolicySnapshot {
        PolicySnapshot(
            version: 1,
            structure: PolicyStructure(apis: [api], grants: grants, documentedOperations: [api.id: Self.documented]),
            keys: .init(shardCount: 1), consumers: .init(shardCount: 1), disabledExternalIds: .init(shardCount: 1))
    }

    func access(_ snapshot: PolicySnapshot, _ groups: [String], _ method: String, _ path: String) -> OperationAccess {
        snapshot.access(groups: groups, api: api.id, method: method, documentPath: api.documentPath(for: Substring(path)))
    }

    @Test func theMostGenerousGrantCoveringTheOperationWins() throws {
        let policy = snapshot([
            AccessGrant(
                name: "readers", groups: ["readers"], apiIds: nil, rateLimit: try RateLimit(limit: 100, periodSeconds: 60),
                operationFilter: OperationFilter(tags: ["read"])),
            AccessGrant(
                name: "admins", groups: ["admins"], apiIds: nil, rateLimit: try RateLimit(limit: 5, periodSeconds: 60),
                operationFilter: OperationFilter(operationIds: ["deleteItem"])),
            AccessGrant(name: "trial", groups: ["trial"], apiIds: nil, rateLimit: try RateLimit(limit: 1, periodSeconds: 60)),
        ])
        guard case .granted(let read) = access(policy, ["readers", "admins", "trial"], "GET", "/orders/items/7") else {
            Issue.record("a read is covered")
            return
        }
        #expect(read.grant == "readers")
        guard case .granted(let delete) = access(policy, ["readers", "admins", "trial"], "DELETE", "/orders/items/7") else {
            Issue.record("a delete is covered")
            return
        }
        #expect(delete.grant == "admins", "the more generous of the grants covering it, over the unfiltered trial")
        guard case .granted(let write) = access(policy, ["readers", "trial"], "POST", "/orders/items") else {
            Issue.record("the unfiltered grant covers the rest")
            return
        }
        #expect(write.grant == "trial")
        #expect(access(policy, ["readers"], "POST", "/orders/items") == .notCovered(operation: "'addItem' (POST /items)"))
        #expect(access(policy, ["readers"], "PUT", "/orders/elsewhere") == .notCovered(operation: "PUT /elsewhere"))
        #expect(access(policy, ["strangers"], "GET", "/orders/items/7") == .noGrant)
        #expect(policy.grantedAccess(groups: ["readers"], api: api.id)?.grant == "readers", "the portal lists a filtered grant's API")
    }
}
