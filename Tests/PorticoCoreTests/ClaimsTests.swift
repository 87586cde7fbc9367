import Foundation
import PorticoCore
import Testing

private func claims(_ json: String) throws -> [String: JSONValue] {
    try JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
}

@Suite struct ClaimPathTests {
    @Test func dottedPathsReachIntoNestedObjects() throws {
        let token = try claims(#"{"realm_access": {"roles": ["a", "b"]}, "a.b": "literal", "n": 42}"#)
        #expect(try ClaimPath("realm_access.roles").value(in: token) == .array([.string("a"), .string("b")]))
        #expect(try ClaimPath(#"a\.b"#).value(in: token) == .string("literal"))
        #expect(try ClaimPath("a.b").value(in: token) == nil)
        #expect(try ClaimPath("n").value(in: token)?.scalarText == "42")
        #expect(try ClaimPath("n.deeper").value(in: token) == nil)
    }

    @Test func badPathsAreRefusedWithAReason() {
        for text in ["", "a..b", ".a", "a.", #"a\"#, #"a\x"#] {
            #expect(throws: ClaimPath.Invalid.self) { try ClaimPath(text) }
        }
    }
}

@Suite struct ClaimsMappingTests {
    let mapping = try! ClaimsMapping().compiled()

    @Test func standardClaimsMapOntoAPrincipal() throws {
        let result = mapping.principal(from: try claims(#"{"sub": "u1", "email": "u@x.io", "azp": "cli", "groups": ["a", "b"]}"#))
        #expect(result == .mapped(JWTPrincipal(userId: "u1", email: "u@x.io", tokenName: "cli", groups: ["a", "b"])))
    }

    @Test func groupsMayBeOneStringSeparatedBySpacesOrCommas() throws {
        guard case .mapped(let principal) = mapping.principal(from: try claims(#"{"sub": "u1", "groups": "a b,c ,, d"}"#)) else {
            Issue.record("not mapped")
            return
        }
        #expect(principal.groups == ["a", "b", "c", "d"])
    }

    @Test func aMissingUserIdIsNamedAndMissingOptionalsAreNil() throws {
        #expect(mapping.principal(from: try claims(#"{"groups": ["a"]}"#)) == .noUserId(claim: "sub"))
        guard case .mapped(let principal) = mapping.principal(from: try claims(#"{"sub": 7}"#)) else {
            Issue.record("not mapped")
            return
        }
        #expect(principal == JWTPrincipal(userId: "7", email: nil, tokenName: nil, groups: []))
    }

    @Test func keycloakStyleNestedRolesAndCustomUserId() throws {
        let mapping = try ClaimsMapping(groups: "realm_access.roles", userId: "preferred_username", email: nil, tokenName: nil).compiled()
        let result = mapping.principal(from: try claims(#"{"preferred_username": "ann", "email": "a@x.io", "realm_access": {"roles": ["ops"]}}"#))
        #expect(result == .mapped(JWTPrincipal(userId: "ann", email: nil, tokenName: nil, groups: ["ops"])))
    }

    @Test func aBadMappingPathNamesItsField() {
        #expect(throws: PorticoError.invalid(field: "claimsMapping.groups", reason: "claim path 'a..b' has an empty segment")) {
            try ClaimsMapping(groups: "a..b").compiled()
        }
    }

    @Test func tokenUsersGetAStableConsumerIdApartFromAnonymousCallers() {
        let one = JWTPrincipal(userId: "u1", email: nil, tokenName: nil, groups: [])
        #expect(one.consumerId == JWTPrincipal(userId: "u1", email: "x", tokenName: nil, groups: ["g"]).consumerId)
        #expect(one.consumerId != JWTPrincipal(userId: "u2", email: nil, tokenName: nil, groups: []).consumerId)
        #expect(JWTPrincipal.anonymousConsumerId(address: "u1") != one.consumerId)
    }
}

@Suite struct ClaimsExpressionTests {
    let token = try! claims(
        #"""
        {"grp": "admin", "scope": "read write", "roles": ["dev", "ops"], "email": "ann@corp.example",
         "org": {"tier": "gold"}, "csv": "a, b,c", "n": 3}
        """#)

    private func holds(_ text: String) throws -> Bool { try ClaimsExpression(text).evaluate(token) }

    @Test func eachFunction() throws {
        #expect(try holds("Equals(`grp`, `admin`)"))
        #expect(try !holds("Equals(`grp`, `adm`)"))
        #expect(try holds("Equals(`n`, `3`)"))
        #expect(try holds("Prefix(`email`, `ann@`)"))
        #expect(try holds("Prefix(`roles`, `op`)"))
        #expect(try holds("Contains(`roles`, `ops`)"))
        #expect(try !holds("Contains(`roles`, `op`)"))
        #expect(try holds("Contains(`scope`, `write`)"))
        #expect(try holds("SplitContains(`csv`, `,`, `b`)"))
        #expect(try !holds("SplitContains(`csv`, `,`, `a, b`)"))
        #expect(try holds("SplitContains(`scope`, ` `, `read`)"))
        #expect(try holds("OneOf(`grp`, `user`, `admin`)"))
        #expect(try holds("OneOf(`roles`, `qa`, `ops`)"))
        #expect(try !holds("OneOf(`grp`, `user`)"))
        #expect(try holds("Equals(`org.tier`, `gold`)"))
        #expect(try !holds("Equals(`missing`, `x`)"))
        #expect(try holds(#"Equals("grp", "admin")"#))
    }

    @Test func notBindsTighterThanAndWhichBindsTighterThanOr() throws {
        // false && false || true → true only if && groups first.
        #expect(try holds("Equals(`grp`, `x`) && Equals(`grp`, `y`) || Equals(`grp`, `admin`)"))
        // true || true && false → true only if && groups first.
        #expect(try holds("Equals(`grp`, `admin`) || Equals(`grp`, `admin`) && Equals(`grp`, `x`)"))
        #expect(try !holds("(Equals(`grp`, `admin`) || Equals(`grp`, `admin`)) && Equals(`grp`, `x`)"))
        #expect(try !holds("!Equals(`grp`, `admin`) && Equals(`grp`, `admin`)"))
        #expect(try holds("!(Equals(`grp`, `x`) || Equals(`grp`, `y`))"))
        #expect(try holds("!!Equals(`grp`, `admin`)"))
    }

    @Test func syntaxErrorsNameTheirPosition() {
        let cases: [(String, Int, String)] = [
            ("Equals(`grp`, `admin`", 22, "expected ',' or ')'"),
            ("Equals(`grp`, `admin`) &&", 26, "the expression ends too early"),
            ("Equal(`grp`, `x`)", 1, "unknown function 'Equal' (Equals, Prefix, Contains, SplitContains, OneOf)"),
            ("Equals(`grp`)", 1, "Equals takes 2 arguments, not 1"),
            ("Equals(`grp`, `x`) & Equals(`a`, `b`)", 20, "unexpected '&'"),
            ("Equals(grp, `x`)", 8, "expected a string in backticks"),
            ("Equals(`grp, `x`)", 15, "expected ',' or ')'"),
            ("", 1, "the expression is empty"),
            ("OneOf(`grp`)", 1, "OneOf takes a claim and at least one value"),
            ("SplitContains(`a`, ``, `b`)", 20, "the separator is empty"),
            ("Equals(`a..b`, `x`)", 8, "claim path 'a..b' has an empty segment"),
            ("(Equals(`a`, `b`)", 18, "expected ')'"),
        ]
        for (text, position, message) in cases {
            #expect(throws: ClaimsExpression.SyntaxError(position: position, message: message), "\(text)") { try ClaimsExpression(text) }
        }
    }
}

@Suite struct RegisteredClaimRulesTests {
    let now = 1_800_000_000.0

    @Test func expiryAndNotBeforeAllowTheLeeway() throws {
        let rules = RegisteredClaimRules(issuers: [], audiences: [], leewaySeconds: 30)
        #expect(rules.failure(in: ["exp": .number(now - 29)], now: now) == nil)
        #expect(rules.failure(in: ["exp": .number(now - 31)], now: now) == "the token has expired")
        #expect(rules.failure(in: ["nbf": .number(now + 29)], now: now) == nil)
        #expect(rules.failure(in: ["nbf": .number(now + 31)], now: now) == "the token is not valid yet")
        #expect(rules.failure(in: ["exp": .string("soon")], now: now) == "the token's exp claim is not a NumericDate")
        #expect(RegisteredClaimRules(issuers: [], audiences: [], leewaySeconds: 0).failure(in: ["exp": .number(now - 1)], now: now) != nil)
    }

    @Test func issuerAndAudienceMustMatchWhenConfigured() {
        let rules = RegisteredClaimRules(issuers: ["https://idp/a", "https://idp/b"], audiences: ["api"], leewaySeconds: 0)
        #expect(rules.failure(in: ["iss": .string("https://idp/b"), "aud": .string("api")], now: now) == nil)
        #expect(rules.failure(in: ["iss": .string("https://idp/b"), "aud": .array([.string("x"), .string("api")])], now: now) == nil)
        #expect(rules.failure(in: ["iss": .string("https://evil"), "aud": .string("api")], now: now) == "the token's issuer is not trusted")
        #expect(rules.failure(in: ["aud": .string("api")], now: now) == "the token's issuer is not trusted")
        #expect(
            rules.failure(in: ["iss": .string("https://idp/a"), "aud": .string("other")], now: now) == "the token is not meant for this audience")
        #expect(rules.failure(in: ["iss": .string("https://idp/a")], now: now) == "the token is not meant for this audience")
    }
}

@Suite struct JWTSettingsTests {
    private func settings(_ json: String) throws -> JWTSettings {
        try JSONDecoder().decode(JWTSettings.self, from: Data(json.utf8))
    }

    private func refusal(_ json: String) -> PorticoError? {
        do {
            _ = try settings(json).compiled()
            return nil
        } catch let error as PorticoError {
            return error
        } catch {
            return .malformed("\(error)")
        }
    }

    @Test func exactlyOneKeySourceIsRequired() {
        #expect(
            refusal("{}")
                == .invalid(
                    field: "jwt", reason: "exactly one key source is required: signingSecret, publicKey, jwksFile or jwksUrl"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "jwksUrl": "https://idp/certs"}"#)
                == .invalid(
                    field: "jwt.signingSecret, jwt.jwksUrl", reason: "only one key source may be set, found 2"))
    }

    @Test func algorithmsMustFitTheKeySourceAndNoneIsNeverAccepted() throws {
        #expect(
            refusal(#"{"signingSecret": "env:S", "algorithms": ["none"]}"#) == .invalid(field: "jwt.algorithms", reason: "'none' is never accepted"))
        #expect(
            refusal(#"{"jwksUrl": "https://idp/certs", "algorithms": ["HS256"]}"#)
                == .invalid(
                    field: "jwt.algorithms", reason: "HS256 is an HMAC algorithm and is never accepted with a public key source"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "algorithms": ["RS256"]}"#)
                == .invalid(
                    field: "jwt.algorithms", reason: "RS256 needs a public key; signingSecret takes HS256, HS384 or HS512"))
        #expect(throws: Never.self) { try settings(#"{"signingSecret": "env:S"}"#).compiled() }
        let symmetric = try settings(#"{"signingSecret": "env:S"}"#).compiled().algorithms
        #expect(symmetric == [.hs256, .hs384, .hs512])
        let asymmetric = try settings(#"{"jwksUrl": "https://idp/certs"}"#).compiled().algorithms
        #expect(asymmetric.allSatisfy { $0.family != .hmac })
    }

    @Test func aJWKSPathNeedsATrustedIssuer() throws {
        #expect(
            refusal(#"{"jwksUrl": "/.well-known/jwks.json"}"#)
                == .invalid(
                    field: "jwt.jwksUrl", reason: "a path is resolved against the token's issuer, so issuer (or issuers) must be set"))
        let config = try settings(#"{"jwksUrl": "/.well-known/jwks.json", "issuer": "https://idp/realms/demo"}"#).compiled()
        #expect(config.jwksURLIsRelative)
        #expect(refusal(#"{"jwksUrl": "ftp://idp/certs"}"#)?.message.contains("jwt.jwksUrl") == true)
    }

    @Test func unknownFieldsBadHeadersAndBadExpressionsAreNamed() {
        #expect(throws: PorticoError.invalid(field: "jwt.jwksUri", reason: "is not a JWT setting")) {
            try settings(#"{"jwksUri": "https://idp/certs"}"#)
        }
        #expect(
            refusal(#"{"signingSecret": "env:S", "forwardHeaders": {"Bad Header": "sub"}}"#)
                == .invalid(
                    field: "jwt.forwardHeaders", reason: "'Bad Header' is not a header name"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "forwardHeaders": {"Host": "sub"}}"#)
                == .invalid(
                    field: "jwt.forwardHeaders", reason: "'Host' cannot be set from a claim"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "claims": "Equals(`a`"}"#)
                == .invalid(
                    field: "jwt.claims", reason: "at position 11: expected ',' or ')'"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "leewaySeconds": -1}"#)
                == .invalid(
                    field: "jwt.leewaySeconds", reason: "must be between 0 and 600"))
        #expect(
            refusal(#"{"signingSecret": "env:S", "tokenSources": {"header": ""}}"#)
                == .invalid(
                    field: "jwt.tokenSources", reason: "at least one of header, query, form or cookie is required"))
        #expect(refusal(#"{"signingSecret": "plain literal"}"#) == .invalid(field: "jwt.signingSecret", reason: "must be sealed before it is stored"))
    }

    @Test func tokenSourcesKeepTheirOrderAndDefaultToTheAuthorizationHeader() throws {
        #expect(try settings(#"{"signingSecret": "env:S"}"#).compiled().tokenSources == [.header("Authorization")])
        let config = try settings(#"{"signingSecret": "env:S", "tokenSources": {"header": "X-Token", "query": "jwt", "form": "t", "cookie": "c"}}"#)
            .compiled()
        #expect(config.tokenSources == [.header("X-Token"), .query("jwt"), .form("t"), .cookie("c")])
    }

    @Test func jwtModeWithoutJWTSettingsTrustsOnlyIdentityProvidersWithDefaultHandling() throws {
        let settings = AuthSettings(mode: .jwt)
        #expect(settings.trustsOnlyIdentityProviders)
        let compiled = try settings.compiled()
        #expect(compiled.jwt == .trustedProvidersOnly)
        #expect(compiled.jwt?.keySource == nil)
        #expect(compiled.jwt?.tokenSources == [.header("Authorization")])
        #expect(compiled.jwt?.strictness == .strict)
        #expect(!AuthSettings(mode: .apiKey).trustsOnlyIdentityProviders)
        #expect(try AuthSettings(mode: .apiKey).compiled().jwt == nil)
    }

    @Test func readsShowAStoredSecretOnlyAsSet() throws {
        let box = try #require(SecretBox(base64: SecretBox.generateKeyBase64()))
        let sealed = try box.seal("s3cret")
        #expect(try box.open(sealed) == "s3cret")
        #expect(!sealed.contains("s3cret"))
        var jwt = JWTSettings()
        jwt.signingSecret = sealed
        #expect(jwt.shown.signingSecret == "set")
        jwt.signingSecret = "env:PORTICO_JWT_SECRET"
        #expect(jwt.shown.signingSecret == "env:PORTICO_JWT_SECRET")
        let other = try #require(SecretBox(base64: SecretBox.generateKeyBase64()))
        #expect(throws: PorticoError.self) { try other.open(sealed) }
    }
}

@Suite struct TokenPartsTests {
    @Test func malformedTokensAreRejectedNeverCrash() {
        for token in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.", "e30.e30.!!", "bm90IGpzb24.e30.", String(repeating: "a", count: 10_000) + ".e30."] {
            #expect(throws: TokenRejection.self, "\(token.prefix(20))") { try CompactJWS(token) }
        }
    }

    @Test func theHeaderIsDecodedAndThePayloadOnlyOnRequest() throws {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","kid":"k1"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"sub":"u","iss":"https://idp"}"#.utf8))
        let jws = try CompactJWS("\(header).\(payload).c2ln")
        #expect(jws.header.alg == "HS256")
        #expect(jws.header.kid == "k1")
        #expect(jws.signature == Array("sig".utf8))
        #expect(jws.unverifiedIssuer() == "https://idp")
        #expect(try jws.claims()["sub"] == .string("u"))
    }
}

@Suite struct FormAndCookieTests {
    @Test func queryValuesAreDecodedAndRemovedWithoutTouchingOtherPairs() {
        #expect(URLEncodedForm.value(of: "jwt", in: "a=1&jwt=x%2By+z&b") == "x+y z")
        #expect(URLEncodedForm.removing("jwt", from: "a=%20&jwt=t&b=2") == "a=%20&b=2")
        #expect(URLEncodedForm.removing("jwt", from: "jwt=t") == nil)
        #expect(URLEncodedForm.value(of: "missing", in: "a=1") == nil)
    }

    @Test func cookiesAreFoundByName() {
        #expect(CookieHeader.value(of: "jwt", in: ["a=1; jwt=tok; b=2"]) == "tok")
        #expect(CookieHeader.value(of: "jwt", in: ["a=1", "jwt=\"q\""]) == "q")
        #expect(CookieHeader.value(of: "jwt", in: ["xjwt=1"]) == nil)
    }
}
