import Foundation
import PorticoCore
import PorticoTestSupport
import Testing

/// Secrets never reach a log: one `portico serve` at trace level with its access log, and the CLI at trace level, go through the flows
/// that handle every kind of secret (an admin's password, right and wrong, and session cookie; an admin token;
/// API keys in each place a client puts them, known and unknown; an identity provider's client secret and a
/// browser's OIDC session through the gateway; a JWT signing secret and tokens signed with it, in a header and
/// in a query). Then everything printed is searched for each secret: none may appear (a prefix may).
@Suite struct SecretsStayOutOfLogsTests {
    @Test func noSecretUsedInTheFlowsAppearsInATraceLevelLog() async throws {
        let provider = try TestOIDCProvider()
        provider.signIn(as: ["sub": .string("ada"), "email": .string("ada@example.com"), "groups": .array([.string("buyers")])])
        try await withTestOIDCProvider(provider) { issuer in
            try await withEchoUpstream { upstream in
                try await withTestPortico { portico in
                    var flows = Flows(portico: portico)
                    try flows.bootstrapAdmin()
                    let serve = try await PorticoProcess(
                        database: portico.testDatabase, extraArguments: ["--access-log"],
                        environment: ["PORTICO_SECRET_KEY": portico.secretKeyBase64],
                        logLevel: "trace")
                    defer { serve.stop() }
                    flows.admin = "http://127.0.0.1:\(serve.adminPort)"
                    flows.gateway = "http://127.0.0.1:\(serve.gatewayPort)"

                    try await flows.apiKeys(upstream: upstream)
                    try await flows.dashboardSignIn()
                    try await flows.providerSignIn(issuer: issuer, provider: provider, upstream: upstream)
                    try await flows.jwtMode()
                    serve.stop()

                    let log = serve.log + flows.commandOutput
                    // The log is really verbose: each gateway answer has its debug line, each admin request its trace.
                    #expect(log.components(separatedBy: "\n").count > 200, "the trace log is too short to tell anything: \(log.prefix(2000))")
                    #expect(log.contains("request") && log.contains("status=200") && log.contains("status=401"))
                    #expect(log.contains("step=credential") && log.contains("step=upstream"), "the access log is on too")
                    // Services are logged by name: their fields (the secret box, the database client) are not dumped.
                    #expect(!log.contains("SymmetricKey(") && !log.contains("Database(client:"))
                    #expect(flows.secrets.count >= 12, "\(flows.secrets.map(\.name))")
                    for (name, secret) in flows.secrets {
                        #expect(!log.contains(secret), "the \(name) appears in the log")
                    }
                }
            }
        }
    }
}

/// The flows, each remembering the secrets it used; commands' stderr (their log) is kept, their stdout is where
/// a secret is shown once, on purpose, and is not.
private struct Flows {
    let portico: TestPortico
    var admin = ""
    var gateway = ""
    var secrets: [(name: String, value: String)] = []
    var commandOutput = ""
    var adminToken = ""
    let password = "a long enough password for ops"
    var environment: [String: String] {
        ["DATABASE_URL": portico.testDatabase.url.connectionString, "PORTICO_SECRET_KEY": portico.secretKeyBase64, "LOG_LEVEL": "trace"]
    }

    init(portico: TestPortico) {
        self.portico = portico
        secrets.append(("PORTICO_SECRET_KEY", portico.secretKeyBase64))
    }

    mutating func remember(_ name: String, _ value: String) {
        secrets.append((name, value))
        // A JWT's signature alone, too: a log that cut the token at a dot would still give it away.
        if let signature = value.split(separator: ".").last, value.split(separator: ".").count == 3 {
            secrets.append((name + " (signature)", String(signature)))
        }
    }

    mutating func bootstrapAdmin() throws {
        let created = try runPortico(["admin", "create", "--email", "ops@example.com"], environment: environment, input: password + "\n")
        #expect(created.status == 0, "\(created.stderr)")
        commandOutput += created.stdout + created.stderr
        remember("admin password", password)
        let token = try runPortico(["admin", "token", "--email", "ops@example.com", "--name", "deploy"], environment: environment)
        #expect(token.status == 0, "\(token.stderr)")
        commandOutput += token.stderr
        adminToken = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        remember("admin token", adminToken)
    }

    func call(_ method: NIOHTTP1Method, _ path: String, _ json: String? = nil) async throws -> [String: Any] {
        let response = try await TestHTTP.send(
            method, admin + path, bearer: adminToken, headers: json == nil ? [] : [("Content-Type", "application/json")],
            body: json.map { Data($0.utf8) })
        #expect(response.status < 300, "\(method) \(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        return (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
    }

    mutating func apiKeys(upstream: Int) async throws {
        _ = try await call(.POST, "/api/v1/groups", #"{"name": "buyers"}"#)
        _ = try await call(.POST, "/api/v1/apis", #"{"name": "orders", "pathPrefix": "/orders", "upstream": "http://127.0.0.1:\#(upstream)"}"#)
        let user = try await call(.POST, "/api/v1/users", #"{"email": "ada@example.com", "groups": ["buyers"]}"#)
        _ = try await call(.POST, "/api/v1/accesses", #"{"name": "buyers", "groups": ["buyers"], "allApis": true}"#)
        let userId = try #require(user["id"] as? String)
        let issued = try await call(.POST, "/api/v1/users/\(userId)/keys", #"{"name": "ci"}"#)
        let key = try #require(issued["key"] as? String)
        remember("API key", key)
        try await waitForGateway(path: "/orders/a?x=1", bearer: key, status: 200)
        #expect(try await TestHTTP.send(.GET, gateway + "/orders/b", headers: [("Authorization", "bearer  " + key)]).status == 200)
        let unknown = SecretFormat.apiKey.generate().secret
        remember("unknown API key", unknown)
        #expect(try await TestHTTP.send(.GET, gateway + "/orders/c", bearer: unknown).status == 401)
        #expect(try await TestHTTP.send(.GET, gateway + "/orders/d?api_key=" + unknown).status == 401)
        let keyId = try #require(issued["id"] as? String)
        _ = try await call(.DELETE, "/api/v1/keys/\(keyId)")
        try await waitForGateway(path: "/orders/e", bearer: key, status: 401)
    }

    mutating func dashboardSignIn() async throws {
        let wrong = "not the password at all"
        remember("wrong password", wrong)
        let signInPage = try await ProviderBrowser.send(admin + "/admin/sign-in")
        let preSession = signInPage.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        let csrf = try #require(WebClient.formToken(in: signInPage.body))
        remember("form token", csrf)
        let refused = try await ProviderBrowser.send(
            admin + "/admin/sign-in", form: [("_csrf", csrf), ("email", "ops@example.com"), ("password", wrong)],
            headers: [("Cookie", preSession)])
        #expect(refused.status != 302 && refused.status != 303, "\(refused.status)")
        let signedIn = try await ProviderBrowser.send(
            admin + "/admin/sign-in", form: [("_csrf", csrf), ("email", "ops@example.com"), ("password", password)],
            headers: [("Cookie", preSession)])
        #expect(signedIn.status == 303 || signedIn.status == 302, "\(signedIn.status) \(signedIn.body.prefix(300))")
        let session = try #require(signedIn.cookies.first { !$0.value.isEmpty })
        remember("dashboard session cookie", session.value)
        let dashboard = try await ProviderBrowser.send(admin + "/admin", headers: [("Cookie", "\(session.key)=\(session.value)")])
        #expect(dashboard.status == 200)
    }

    /// Waits (up to 5 s) for the gateway to answer `status`: a change reaches it through NOTIFY, not at once.
    func waitForGateway(path: String, bearer: String? = nil, status: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        var last = 0
        while ContinuousClock.now < deadline {
            last = try await TestHTTP.send(.GET, gateway + path, bearer: bearer).status
            if last == status { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(path) answered \(last), not \(status)")
    }

    mutating func providerSignIn(issuer: String, provider: TestOIDCProvider, upstream: Int) async throws {
        remember("client secret", TestOIDCProvider.clientSecret)
        _ = try await call(
            .POST, "/api/v1/identity-providers",
            #"{"name": "corp", "issuer": "\#(issuer)", "clientId": "\#(TestOIDCProvider.clientId)", "clientSecret": "\#(TestOIDCProvider.clientSecret)", "acceptTokens": true}"#
        )
        let api = try await call(.POST, "/api/v1/apis", #"{"name": "app", "pathPrefix": "/app", "upstream": "http://127.0.0.1:\#(upstream)"}"#)
        let apiId = try #require(api["id"] as? String)
        _ = try await call(.PATCH, "/api/v1/apis/\(apiId)", #"{"auth": "oidc", "oidc": {"provider": "corp", "redirectPath": "/callback"}}"#)
        var asked = try await ProviderBrowser.send(gateway + "/app/page", headers: [("Accept", "text/html")])
        let deadline = ContinuousClock.now + .seconds(5)
        while asked.status != 302, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            asked = try await ProviderBrowser.send(gateway + "/app/page", headers: [("Accept", "text/html")])
        }
        #expect(asked.status == 302, "\(asked.status) \(asked.body.prefix(300))")
        let flow = try #require(asked.cookies.first { $0.key.hasPrefix("portico_oidc_flow_") })
        remember("OIDC flow cookie", flow.value)
        let authorized = try await provider.authorize(try #require(asked.location))
        let callback = try #require(authorized.location)
        if let code = URLComponents(string: callback)?.queryItems?.first(where: { $0.name == "code" })?.value { remember("authorization code", code) }
        let finished = try await ProviderBrowser.send(callback, headers: [("Cookie", "\(flow.key)=\(flow.value)")])
        #expect(finished.status == 302)
        let session = try #require(finished.cookies.first { $0.key.hasPrefix("portico_oidc_") && !$0.key.contains("flow") })
        remember("OIDC session cookie", session.value)
        let page = try await ProviderBrowser.send(gateway + "/app/page", headers: [("Cookie", "\(session.key)=\(session.value)")])
        #expect(page.status == 200)
    }

    mutating func jwtMode() async throws {
        let signingSecret = "a signing secret of thirty-two bytes or more"
        remember("JWT signing secret", signingSecret)
        _ = try await call(
            .PUT, "/api/v1/auth-settings",
            #"{"mode": "jwt", "jwt": {"signingSecret": "\#(signingSecret)", "algorithms": ["HS256"], "issuer": "https://idp.example", "tokenSources": {"header": "Authorization", "query": "access_token"}}}"#
        )
        let signed = try runPortico(["token", "sign", "--sub", "ada", "--groups", "buyers"], environment: environment)
        #expect(signed.status == 0, "\(signed.stderr)")
        commandOutput += signed.stderr
        let token = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        remember("JWT", token)
        try await waitForGateway(path: "/orders/f", bearer: token, status: 200)
        #expect(try await TestHTTP.send(.GET, gateway + "/orders/g?access_token=" + token).status == 200)
        let forged = String(token.dropLast(4)) + "AAAA"
        remember("forged JWT", forged)
        #expect(try await TestHTTP.send(.GET, gateway + "/orders/h", bearer: forged).status == 401)
        _ = try await call(.PUT, "/api/v1/auth-settings", #"{"mode": "api_key"}"#)
    }
}
