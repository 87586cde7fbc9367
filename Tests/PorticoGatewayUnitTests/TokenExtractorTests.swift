import NIOCore
import PorticoCore
import Testing

@testable import PorticoGateway

/// Where a token is looked for, in the configured order.
@Suite struct TokenExtractorTests {
    let all: [JWTConfig.TokenSource] = [.header("Authorization"), .query("access_token"), .form("token"), .cookie("session")]

    func found(_ result: TokenExtractor.Result) -> (String, JWTConfig.TokenSource)? {
        guard case .found(let found) = result else { return nil }
        return (found.token, found.source)
    }

    @Test func theFirstSourceWithATokenWins() {
        let extractor = TokenExtractor(sources: all)
        let both = request("/x?access_token=fromquery", headers: [("Authorization", "Bearer fromheader"), ("Cookie", "session=fromcookie")])
        #expect(found(extractor.extract(from: both))?.0 == "fromheader")
        #expect(found(extractor.extract(from: request("/x?access_token=fromquery")))?.1 == .query("access_token"))
        #expect(found(extractor.extract(from: request("/x", headers: [("Cookie", "a=1; session=fromcookie")])))?.0 == "fromcookie")
    }

    @Test func anAuthorizationHeaderOfAnotherSchemeIsNoToken() {
        let extractor = TokenExtractor(sources: [.header("Authorization")])
        guard case .none = extractor.extract(from: request("/x", headers: [("Authorization", "Basic dXNlcjpwYXNz")])) else {
            Issue.record("a Basic credential was taken for a token")
            return
        }
    }

    @Test func aCustomHeaderTakesTheTokenBareOrWithTheBearerScheme() {
        let extractor = TokenExtractor(sources: [.header("X-Token")])
        #expect(found(extractor.extract(from: request("/x", headers: [("X-Token", "  bare.token  ")])))?.0 == "bare.token")
        #expect(found(extractor.extract(from: request("/x", headers: [("x-token", "Bearer with.scheme")])))?.0 == "with.scheme")
    }

    @Test func aFormSourceWaitsForTheBodyOnlyForAFormPost() {
        let extractor = TokenExtractor(sources: [.form("token")])
        var post = request(.POST, "/x", headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")])
        guard case .needsFormBody = extractor.extract(from: post) else {
            Issue.record("the form body was not asked for")
            return
        }
        post.formBody = ByteBuffer(string: "token=abc%2Edef&other=1")
        #expect(found(extractor.extract(from: post))?.0 == "abc.def")
        guard case .none = extractor.extract(from: request(.POST, "/x", headers: [("Content-Type", "application/json")])) else {
            Issue.record("a JSON body was read for a form token")
            return
        }
    }

    @Test func emptyValuesAreNoToken() {
        let extractor = TokenExtractor(sources: all)
        guard case .none = extractor.extract(from: request("/x?access_token=", headers: [("Cookie", "session=")])) else {
            Issue.record("an empty value was taken for a token")
            return
        }
    }
}
