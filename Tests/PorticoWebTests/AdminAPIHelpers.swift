import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PorticoTestSupport
import Testing

/// A response of the admin API with its JSON decoded loosely, for assertions.
struct APIResult {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: body) as? [[String: Any]]) ?? [] }
    var errorCode: String? { json["error"] as? String }
    var message: String { json["message"] as? String ?? "" }
    var id: String { json["id"] as? String ?? "" }
}

struct AdminClient {
    let client: any TestClientProtocol
    let token: String?

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, token overrideToken: String? = nil, ifMatch: String? = nil
    ) async throws -> APIResult {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token = overrideToken ?? token { headers[.authorization] = "Bearer \(token)" }
        if let ifMatch { headers[.ifMatch] = ifMatch }
        let result = try await client.execute(
            uri: "/api/v1" + path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            APIResult(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
        }
        // Every exchange is held to the admin API's own document.
        guard let contract = AdminAPIContract.shared else {
            Issue.record("the admin API's OpenAPI document does not load")
            return result
        }
        for problem in contract.problems(
            method: method.rawValue, path: path, request: body.map { Data($0.utf8) }, status: Int(result.status.code),
            contentType: result.headers[.contentType], response: result.body)
        {
            Issue.record("the admin API's document: \(problem)")
        }
        return result
    }
}

/// Runs `body` with an admin client of the control plane on a fresh database.
func withAdminAPI(_ body: @escaping @Sendable (AdminClient, TestPortico) async throws -> Void) async throws {
    try await withTestPortico { portico in
        try await portico.controlPlane().test(.router) { client in
            try await body(AdminClient(client: client, token: portico.adminToken), portico)
        }
    }
}

func auditCount(_ portico: TestPortico) async throws -> Int {
    try await portico.store.read { connection in
        try await connection.query("SELECT count(*) FROM audit_log", logger: portico.database.logger).decode(Int.self).reduce(0) { $0 + $1 }
    }
}
