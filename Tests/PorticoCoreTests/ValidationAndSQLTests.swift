import Testing

@testable import PorticoCore

@Suite struct ValidationTests {
    @Test func pathPrefixesAreNormalisedAndChecked() throws {
        #expect(try Validation.pathPrefix("/orders/") == "/orders")
        #expect(try Validation.pathPrefix("/") == "/")
        for bad in ["orders", "/a//b", "/a/../b", "/a?x=1", "/a b", "/a#x", ""] {
            #expect(throws: PorticoError.self, "\(bad)") { try Validation.pathPrefix(bad) }
        }
    }

    @Test func upstreamsMustBeAbsoluteHTTPURLs() throws {
        #expect(try Validation.upstream("http://127.0.0.1:9000/base") == "http://127.0.0.1:9000/base")
        for bad in ["ftp://x", "127.0.0.1:9000", "/relative", "http://", "http://u:p@host", "http://h/?q=1"] {
            #expect(throws: PorticoError.self, "\(bad)") { try Validation.upstream(bad) }
        }
    }

    @Test func emailsAndNamesAreChecked() throws {
        #expect(try Validation.email(" a@b.io ") == "a@b.io")
        for bad in ["a", "a@b", "@b.io", "a@@b.io", "a b@c.io", "<a>@b.io"] {
            #expect(throws: PorticoError.self, "\(bad)") { try Validation.email(bad) }
        }
        #expect(try Validation.identifier("team-a_1") == "team-a_1")
        #expect(throws: PorticoError.self) { try Validation.identifier("team a") }
        #expect(throws: PorticoError.self) { try Validation.identifier("") }
    }
}

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarQuotes() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; /* nested; */ still comment */
            CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            CREATE FUNCTION g() RETURNS int AS $body$ SELECT 2; $body$ LANGUAGE sql;
            SELECT "we;ird" FROM a
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 4)
        #expect(statements[0] == "CREATE TABLE a (x text DEFAULT 'a;b')")
        #expect(statements[1].hasSuffix("$$ SELECT 1; $$ LANGUAGE sql"))
        #expect(statements[2].contains("$body$ SELECT 2; $body$"))
        #expect(statements[3] == "SELECT \"we;ird\" FROM a")
    }

    @Test func escapedQuotesStayInTheirString() {
        #expect(SQLScript.statements(in: "SELECT 'it''s; fine'; SELECT 2;") == ["SELECT 'it''s; fine'", "SELECT 2"])
    }
}
