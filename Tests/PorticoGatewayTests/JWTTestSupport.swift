import Foundation
import PorticoCore
import PorticoDemo
import PorticoGateway
import PorticoTestSupport
import PorticoWeb

/// An echo upstream behind API `orders` at `/orders`, granted to group `buyers`, with the gateway running in JWT
/// mode with `jwt` settings.
func withJWTGateway<Result: Sendable>(
    _ jwt: [String: Any], claimsMapping: [String: Any]? = nil, grantLimit: Int? = nil,
    _ body: (GatewayHandle, TestPortico) async throws -> Result
) async throws -> Result {
    try await withEchoUpstream { upstream in
        try await withTestPortico { portico in
            try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream)
            try await portico.grant("buyers-orders", groups: ["buyers"], apis: ["orders"], limit: grantLimit)
            try await portico.useJWT(jwt, claimsMapping: claimsMapping)
            return try await portico.withGateway { gateway in try await body(gateway, portico) }
        }
    }
}

extension GatewayHandle {
    func get(_ path: String, token: String) async throws -> TestHTTPResponse {
        try await get(path, headers: [("Authorization", "Bearer \(token)")])
    }
}

extension TestHTTPResponse {
    /// The headers the echo upstream saw, lower-cased names.
    func upstreamHeaders() throws -> [String: String] {
        try JSONDecoder().decode(EchoDescription.self, from: body).headers
    }

    var errorDescription: String? {
        guard let header = header("WWW-Authenticate"), let range = header.range(of: "error_description=\"") else { return nil }
        return String(header[range.upperBound...].dropLast())
    }
}

enum TestKeys {
    static let rsa = try! TestSigningKey.rsa("RS256")
    static let rsaOther = try! TestSigningKey.rsa("RS256")
}
