import Foundation
import PorticoCore
import PorticoTestSupport
import PorticoWeb
import Testing

/// The portal's try-it console: a call sent through the real gateway as the signed-in consumer, without a key, under
/// their grant, rate limit and usage records, in either auth mode.
@Suite struct TryItTests {
    static let document = """
        openapi: 3.0.3
        info: {title: Orders, version: '1'}
        paths:
          /items/{id}:
            get:
              operationId: getItem
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}, example: "a b"}
                - {name: verbose, in: query, schema: {type: boolean}}
                - {name: X-Trace, in: header, schema: {type: string}}
                - {name: Authorization, in: header, required: true, schema: {type: string}}
              responses: {'200': {description: the item}}
          /items:
            post:
              operationId: addItem
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {type: object}
                    example: {name: pen}
              responses: {'201': {description: created}}
        """

    /// An API on the echo upstream with the document, granted to `buyers` at 2 calls a minute; a consumer in
    /// `buyers` signed in to the portal; the control plane sending try-it calls through a real gateway.
    func withConsole(_ body: @escaping @Sendable (WebClient, TestPortico, APIDefinition, User) async throws -> Void) async throws {
        try await withEchoUpstream { upstream in
            try await withTestPortico { portico in
                let api = try await portico.createAPI("orders", prefix: "/orders", upstreamPort: upstream, stripPrefix: true)
                _ = try await APIDocumentService(store: portico.store).upload(Self.document, to: api.id, by: portico.actor)
                try await portico.grant("buyers", groups: ["buyers"], apis: ["orders"], limit: 2, period: "1m")
                let (consumer, _) = try await portico.seedConsumer(email: "c@example.com", groups: ["buyers"])
                try await setPassword("consumer password 1", for: consumer.id, in: portico)
                await portico.reloadPolicy()
                let passes = TryItPassSigner.random()
                try await portico.withGateway(tryItPasses: passes) { gateway in
                    let route = TryItRoute(signer: passes, gatewayURL: gateway.baseURL)
                    try await portico.controlPlane(tryIt: route).test(.router) { client in
                        let web = WebClient(client)
                        _ = try await web.signIn("c@example.com", password: "consumer password 1", area: "portal")
                        try await body(web, portico, api, consumer)
                    }
                }
            }
        }
    }

    @Test func aCallIsSentAsTheConsumerUnderTheirRateLimitAndCountedInTheirUsage() async throws {
        try await withConsole { web, portico, api, consumer in
            let page = try await web.get("/portal/apis/\(api.id)")
            #expect(page.contains("/portal/apis/\(api.id)/try/op-getItem"))
            let form = try await web.get("/portal/apis/\(api.id)/try/op-getItem")
            #expect(form.status == 200)
            #expect(form.contains(#"value="a b""#), "the document's example prefills the field")
            #expect(form.contains("set by the gateway"), "a credential header is not the form's to send")

            let fields = [("p0", "a b"), ("p1", "true"), ("p2", "trace-1"), ("p3", "Bearer smuggled")]
            let first = try await web.post("/portal/apis/\(api.id)/try/op-getItem", fields)
            #expect(first.status == 200)
            #expect(first.contains("200 OK"))
            #expect(first.text.contains("GET http://127.0.0.1:8000/orders/items/a%20b?verbose=true"), "the gateway URL consumers use")
            #expect(first.text.contains(#""path" : "/items/a%20b""#))
            #expect(first.text.contains(#""x-trace" : "trace-1""#))
            #expect(first.text.contains(#""x-portico-user" : "\#(consumer.id.headerText)""#))
            #expect(!first.contains("smuggled"), "no Authorization reaches the upstream from the form")
            #expect(!first.html.lowercased().contains("x-portico-try-it"), "the pass stays at the gateway")
            #expect(first.text.contains("<strong>X-RateLimit-Remaining</strong></td><td><code>1</code>"))

            _ = try await web.post("/portal/apis/\(api.id)/try/op-getItem", fields)
            let limited = try await web.post("/portal/apis/\(api.id)/try/op-getItem", fields)
            #expect(limited.contains("429 Too Many Requests"))
            #expect(limited.contains("<strong>Retry-After</strong>"))

            let counted = try await portico.waitForCalls(3, consumer: consumer.id)
            #expect(counted.byClass == [2, 0, 1, 0], "the console's calls are the consumer's calls")
        }
    }

    @Test func aBodyIsSentWithTheDocumentsMediaTypeAndBadInputIs422OnItsField() async throws {
        try await withConsole { web, _, api, _ in
            let form = try await web.get("/portal/apis/\(api.id)/try/op-addItem")
            #expect(form.contains("&quot;name&quot; : &quot;pen&quot;"), "the example prefills the body")
            let missing = try await web.post("/portal/apis/\(api.id)/try/op-addItem", [("body", "")])
            #expect(missing.status == 422)
            #expect(missing.contains("this operation requires a request body"))
            let sent = try await web.post("/portal/apis/\(api.id)/try/op-addItem", [("body", #"{"name":"ink"}"#)])
            #expect(sent.status == 200)
            #expect(sent.text.contains(#""name" : "ink""#), "the echo streams the body back, shown as indented JSON")
            #expect(sent.text.contains("application/json"))

            let noId = try await web.post("/portal/apis/\(api.id)/try/op-getItem", [("p0", "")])
            #expect(noId.status == 422)
            #expect(noId.text.contains("the path parameter 'id' is required"))
            let injected = try await web.post("/portal/apis/\(api.id)/try/op-getItem", [("p0", "x"), ("p2", "a\r\nX-Evil: 1")])
            #expect(injected.status == 422)
            #expect(injected.text.contains("the header 'X-Trace' may not hold control characters or line breaks"))
            #expect(try await web.get("/portal/apis/\(api.id)/try/op-nothing").status == 404)
        }
    }

    @Test func inJWTModeTheConsoleStillCallsAsTheConsumerWhileACallWithoutATokenIs401() async throws {
        try await withConsole { web, portico, api, _ in
            try await portico.useJWT(["signingSecret": String(repeating: "m", count: 32)])
            await portico.reloadPolicy()
            let page = try await web.get("/portal/apis/\(api.id)")
            #expect(page.contains("$JWT"), "the curl lines carry a token now")
            let sent = try await web.post("/portal/apis/\(api.id)/try/op-getItem", [("p0", "1")])
            #expect(sent.contains("200 OK"))
            #expect(sent.text.contains("<strong>X-RateLimit-Remaining</strong></td><td><code>1</code>"))
        }
    }

    @Test func aConsumerWithoutAccessFindsNoConsole() async throws {
        try await withConsole { web, portico, api, _ in
            let (stranger, _) = try await portico.seedConsumer(email: "s@example.com", groups: ["others"])
            try await setPassword("stranger password 1", for: stranger.id, in: portico)
            _ = try await web.post("/portal/sign-out")
            _ = try await web.signIn("s@example.com", password: "stranger password 1", area: "portal")
            #expect(try await web.get("/portal/apis/\(api.id)/try/op-getItem").status == 404)
            #expect(try await web.post("/portal/apis/\(api.id)/try/op-getItem", [("p0", "1")]).status == 404)
        }
    }
}
