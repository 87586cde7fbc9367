import Foundation
import HummingbirdTesting
import PorticoCatalog
import PorticoTestSupport
import PorticoWeb
import Testing

/// The admin API's own OpenAPI document: served at `/api/v1/openapi.json`, and in step with the router. (Every
/// exchange the admin API tests make through `AdminClient` is checked against it as well.)
@Suite struct AdminAPIDocumentTests {
    @Test func everyRouteIsInTheDocumentAndEveryOperationIsARoute() async throws {
        let contract = try #require(AdminAPIContract.shared, "the document loads")
        try await withTestPortico { portico in
            let router = buildControlPlaneRouter(
                configuration: .init(), store: portico.store, policy: portico.policy, registry: portico.registry,
                gatewayMetrics: portico.metrics, pages: portico.pages)
            let routed = Set(
                router.routes.compactMap { route -> String? in
                    let path = "/" + "\(route.path)".drop { $0 == "/" }
                    guard path.hasPrefix("/api/v1/") else { return nil }
                    return "\(route.method.rawValue) \(path.dropFirst("/api/v1".count))"
                })
            let documented = contract.operations
            #expect(routed.subtracting(documented).sorted() == [], "routes the document leaves out")
            #expect(documented.subtracting(routed).sorted() == [], "operations no route serves")
            #expect(routed.count > 50)
        }
    }

    @Test func theDocumentIsServedAsJSONWithoutAToken() async throws {
        try await withAdminAPI { admin, _ in
            let served = try await admin.call(.get, "/openapi.json", token: "")
            #expect(served.status == .ok)
            #expect(served.json["openapi"] as? String == "3.1.0")
            let document = try APIDocument(parsing: String(decoding: served.body, as: UTF8.self))
            #expect(document.operationCount == AdminAPIContract.shared?.operations.count)
        }
    }
}
