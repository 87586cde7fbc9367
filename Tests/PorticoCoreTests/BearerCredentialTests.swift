import PorticoCore
import Testing

@Suite struct BearerCredentialTests {
    @Test func theSchemeIsCaseInsensitiveAndSpacesBeforeTheTokenAreSkipped() {
        #expect(BearerCredential("Bearer pk_abc")?.token == "pk_abc")
        #expect(BearerCredential("bEaReR pk_abc")?.token == "pk_abc")
        #expect(BearerCredential("BEARER    pk_abc")?.token == "pk_abc")
        #expect(BearerCredential("Bearer é.ü")?.token == "é.ü")
    }

    @Test func otherSchemesAndEmptyTokensAreNotBearerCredentials() {
        #expect(BearerCredential(nil) == nil)
        #expect(BearerCredential("") == nil)
        #expect(BearerCredential("Bearer") == nil)
        #expect(BearerCredential("Bearer ") == nil)
        #expect(BearerCredential("Bearer    ") == nil)
        #expect(BearerCredential("Basic dXNlcjpwdw==") == nil)
        #expect(BearerCredential("Bearerx pk_abc") == nil)
        #expect(BearerCredential("Bearer\tpk_abc") == nil)
        // Bytes that equal a letter only once 0x20 is or-ed in are not that letter.
        #expect(BearerCredential("Bearer\u{00}pk_abc") == nil)
        #expect(BearerCredential("Be@rer pk_abc") == nil)
    }

    @Test func asciiCaseFoldingAppliesToLettersOnly() {
        #expect("X-Forwarded-For".equalsIgnoringASCIICase("x-forwarded-for"))
        #expect("x-forwarded-for"[...].equalsIgnoringASCIICase("x-forwarded-for"))
        #expect(!"X-Forwarded-Fo".equalsIgnoringASCIICase("x-forwarded-for"))
        // A CR or NUL or-ed with 0x20 gives '-' or ' ', but they are neither.
        #expect(!"x\rforwarded\rfor".equalsIgnoringASCIICase("x-forwarded-for"))
        #expect(!"bearer\u{00}".equalsIgnoringASCIICase("bearer "))
        #expect(!"Bé".equalsIgnoringASCIICase("be"))
        #expect("x-forwarded-for".equalsIgnoringASCIICase("X-Forwarded-For"), "either side may carry capitals")
        #expect(!"x-forwarded-for".equalsIgnoringASCIICase("X\rForwarded\rFor"))
        #expect(!"@".equalsIgnoringASCIICase("`"), "0x40 and 0x60 differ only in the case bit, but are not letters")
    }
}
