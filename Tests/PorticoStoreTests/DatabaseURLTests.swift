import PorticoCore
import PorticoStore
import Testing

@Suite struct DatabaseURLTests {
    @Test func aTCPURLKeepsItsPartsAndMasksThePassword() throws {
        let url = try DatabaseURL("postgres://app:s3cret@db.internal:6543/portico?sslmode=disable")
        #expect(url.databaseName == "portico")
        #expect(url.description == "postgres://app:***@db.internal:6543/portico?sslmode=disable")
        #expect(!url.description.contains("s3cret"))
        #expect(url.connectionString.contains("s3cret"))
    }

    @Test func aUnixSocketFolderIsAccepted() throws {
        let url = try DatabaseURL("postgres://postgres@/portico?host=/run/postgresql&port=5433")
        #expect(url.databaseName == "portico")
        let percentEncoded = try DatabaseURL("postgresql://postgres@%2Frun%2Fpostgresql/portico")
        #expect(percentEncoded.databaseName == "portico")
    }

    @Test func badURLsAreRefusedWithTheReason() {
        for bad in ["http://db/portico", "not a url", "postgres://u@db/p?sslmode=sometimes", "postgres:///portico"] {
            #expect(throws: PorticoError.self, "\(bad)") { try DatabaseURL(bad) }
        }
    }
}
