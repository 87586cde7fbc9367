import Foundation
import PorticoCore
import PorticoWeb

/// The parsers that read what strangers send, each as one fuzzing entry point. `Fuzz/` builds a libFuzzer binary
/// per case (`make fuzz`); the unit tests replay the committed corpora through the same entry points.
/// An entry point must return for every input: throwing is the parsers' way to refuse, a crash is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A bearer token: the compact JWS parser, the strict JSON of header and claims, the registered-claim rules
    /// and the claims mapping; and the bytes as a JWK (the whole-key checks).
    case jws
    /// `claimsExpression` in the JWT settings, parsed and evaluated.
    case claimsExpression = "claims-expression"
    /// A claim path of the claims mapping (`realm_access.roles`, `"https://example.com/groups"`).
    case claimPath = "claim-path"
    /// An admin API request body, as each route decodes and checks it.
    case adminJSON = "admin-json"
    /// An `application/x-www-form-urlencoded` body or query, and a `Cookie` header.
    case form
    /// Bytes from a client, through the gateway connection's real pipeline (HTTP/1 codec and connection handler).
    case requestHead = "request-head"

    public func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .jws: TokenFuzzing.run(Array(input))
        case .claimsExpression: ExpressionFuzzing.runExpression(String(decoding: input, as: UTF8.self))
        case .claimPath: ExpressionFuzzing.runPath(String(decoding: input, as: UTF8.self))
        case .adminJSON: AdminRequestBodies.decodeEach(Data(input))
        case .form: FormFuzzing.run(String(decoding: input, as: UTF8.self))
        case .requestHead: RequestHeadFuzzing.shared.run(input)
        }
    }

    public func run(_ input: [UInt8]) {
        input.withUnsafeBytes { run($0) }
    }
}

/// Claims that paths and expressions are evaluated against: nesting, arrays, every JSON type.
enum SampleClaims {
    static let claims: [String: JSONValue] = [
        "sub": .string("ada"), "email": .string("ada@example.com"), "groups": .array([.string("orders"), .string("admins")]),
        "realm_access": .object(["roles": .array([.string("reader")])]), "https://example.com/groups": .array([.string("x")]),
        "exp": .number(4_102_444_800), "nbf": .number(0), "email_verified": .bool(true), "n": .null,
        "deep": .object(["a": .object(["b": .array([.object(["c": .number(1.5)])])])]),
    ]
}

enum TokenFuzzing {
    static let rules = RegisteredClaimRules(issuers: ["https://idp.example"], audiences: ["portico"], leewaySeconds: 30)
    static let mapping = (try? ClaimsMapping(groups: "realm_access.roles", userId: "sub", email: "email", tokenName: "azp").compiled())

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let token = try? CompactJWS(text) {
            _ = token.unverifiedIssuer()
            if let claims = try? token.claims() {
                _ = rules.failure(in: claims, now: 1_800_000_000)
                _ = mapping?.principal(from: claims)
            }
        }
        if let object = try? StrictJSON.object(bytes) {
            _ = JWKInspection.inspect(object)
            _ = rules.failure(in: object, now: 1_800_000_000)
        }
        _ = Base64URL.decode(bytes)
        if let bearer = BearerCredential(text), let token = try? CompactJWS(bearer.token) { _ = try? token.claims() }
    }
}

enum ExpressionFuzzing {
    static func runExpression(_ text: String) {
        guard let expression = try? ClaimsExpression(text) else { return }
        _ = expression.evaluate(SampleClaims.claims)
        _ = expression.evaluate([:])
    }

    static func runPath(_ text: String) {
        guard let path = try? ClaimPath(text) else { return }
        _ = path.value(in: SampleClaims.claims)
        _ = path.description
        _ = try? ClaimPath(path.description)
    }
}

enum FormFuzzing {
    static func run(_ text: String) {
        let form = FormValues(text)
        let pairs = URLEncodedForm.pairs(in: text)
        for pair in pairs {
            _ = form.text(pair.name)
            _ = form.all(pair.name)
            _ = form.commaSeparated(pair.name)
            _ = URLEncodedForm.removing(pair.name, from: text)
            _ = URLEncodedForm.encode(pair.value)
        }
        // Foundation's date formatters cost a millisecond each: one date per input keeps the fuzzer fast.
        if let first = pairs.first { _ = try? form.date(first.name) }
        _ = form.values
        _ = CookieHeader.value(of: "portico_session", in: [text])
    }
}
