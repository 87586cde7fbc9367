import Foundation
import HTTPTypes
import PorticoTestSupport
import Testing

@Suite struct UsersAPITests {
    @Test func createListShowPatchAndDeleteAUser() async throws {
        try await withAdminAPI { admin, portico in
            try await admin.call(.post, "/groups", #"{"name":"team-a"}"#)
            let created = try await admin.call(.post, "/users", #"{"email":"Ann@Example.com","name":"Ann","groups":["team-a"]}"#)
            #expect(created.status == .created)
            #expect(created.json["email"] as? String == "Ann@Example.com")
            #expect(created.json["groups"] as? [String] == ["team-a"])
            #expect(created.json["role"] as? String == "consumer")
            #expect(created.json["createdAt"] is String)
            #expect(created.json["passwordHash"] == nil)

            let list = try await admin.call(.get, "/users?search=ann")
            #expect(list.array.map { $0["email"] as? String } == ["Ann@Example.com"])
            #expect(try await admin.call(.get, "/users/\(created.id)").json["name"] as? String == "Ann")

            let patched = try await admin.call(.patch, "/users/\(created.id)", #"{"name":"Ann B","disabled":true,"groups":[]}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["name"] as? String == "Ann B")
            #expect(patched.json["disabled"] as? Bool == true)
            #expect(patched.json["groups"] as? [String] == [])

            #expect(try await admin.call(.delete, "/users/\(created.id)").status == .noContent)
            #expect(try await admin.call(.get, "/users/\(created.id)").status == .notFound)
        }
    }

    @Test func invalidUserInputIsRefusedAndNothingIsWritten() async throws {
        try await withAdminAPI { admin, portico in
            let audits = try await auditCount(portico)
            let badEmail = try await admin.call(.post, "/users", #"{"email":"not-an-email"}"#)
            #expect(badEmail.status == .unprocessableContent)
            #expect(badEmail.errorCode == "invalid_input")
            #expect(badEmail.message.contains("email"))

            let missing = try await admin.call(.post, "/users", #"{"name":"x"}"#)
            #expect(missing.status == .unprocessableContent)
            #expect(missing.message.contains("email"))

            let wrongType = try await admin.call(.post, "/users", #"{"email": 42}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.message.contains("email"))

            let notJSON = try await admin.call(.post, "/users", "{nope")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.errorCode == "malformed_request")

            let unknownGroup = try await admin.call(.post, "/users", #"{"email":"g@example.com","groups":["ghosts"]}"#)
            #expect(unknownGroup.status == .unprocessableContent)
            #expect(unknownGroup.message.contains("ghosts"))

            #expect(try await admin.call(.get, "/users").array.count == 1)  // only the admin
            #expect(try await auditCount(portico) == audits)
        }
    }

    @Test func aDuplicateEmailIs409WhateverItsCase() async throws {
        try await withAdminAPI { admin, _ in
            try await admin.call(.post, "/users", #"{"email":"dup@example.com"}"#)
            let again = try await admin.call(.post, "/users", #"{"email":"DUP@example.com"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "duplicate")
            #expect(again.message.contains("email"))
        }
    }

    @Test func unknownIdsAre404() async throws {
        try await withAdminAPI { admin, _ in
            let missing = UUID().uuidString
            let results = [
                try await admin.call(.get, "/users/\(missing)"),
                try await admin.call(.patch, "/users/\(missing)", #"{"name":"x"}"#),
                try await admin.call(.delete, "/users/\(missing)"),
                try await admin.call(.get, "/users/not-a-uuid"),
            ]
            #expect(results.map(\.status) == Array(repeating: .notFound, count: 4))
        }
    }

    @Test func anAdminCannotDeleteOrDemoteThemselves() async throws {
        try await withAdminAPI { admin, portico in
            let delete = try await admin.call(.delete, "/users/\(portico.admin.id)")
            let demote = try await admin.call(.patch, "/users/\(portico.admin.id)", #"{"role":"consumer"}"#)
            #expect(delete.status == .conflict)
            #expect(demote.status == .conflict)
        }
    }
}

@Suite struct GroupsAPITests {
    @Test func groupsAndMemberships() async throws {
        try await withAdminAPI { admin, _ in
            let group = try await admin.call(.post, "/groups", #"{"name":"gold"}"#)
            #expect(group.status == .created)
            let user = try await admin.call(.post, "/users", #"{"email":"m@example.com"}"#)
            #expect(try await admin.call(.put, "/groups/\(group.id)/members/\(user.id)").status == .noContent)
            #expect(try await admin.call(.put, "/groups/\(group.id)/members/\(user.id)").status == .noContent)  // idempotent
            #expect(try await admin.call(.get, "/users/\(user.id)").json["groups"] as? [String] == ["gold"])
            #expect(try await admin.call(.get, "/groups").array.first?["memberCount"] as? Int == 1)
            #expect(try await admin.call(.delete, "/groups/\(group.id)/members/\(user.id)").status == .noContent)
            #expect(try await admin.call(.delete, "/groups/\(group.id)/members/\(user.id)").status == .notFound)
            #expect(try await admin.call(.delete, "/groups/\(group.id)").status == .noContent)
            #expect(try await admin.call(.get, "/groups").array.isEmpty)
        }
    }

    @Test func badGroupInputIsRefused() async throws {
        try await withAdminAPI { admin, portico in
            let audits = try await auditCount(portico)
            #expect(try await admin.call(.post, "/groups", #"{"name":"has space"}"#).status == .unprocessableContent)
            #expect(try await admin.call(.post, "/groups", #"{"name":""}"#).status == .unprocessableContent)
            #expect(try await admin.call(.post, "/groups", #"{}"#).status == .unprocessableContent)
            try await admin.call(.post, "/groups", #"{"name":"one"}"#)
            #expect(try await admin.call(.post, "/groups", #"{"name":"one"}"#).status == .conflict)
            #expect(try await admin.call(.put, "/groups/\(UUID())/members/\(portico.admin.id)").status == .notFound)
            let group = try await admin.call(.get, "/groups").array.first?["id"] as? String ?? ""
            #expect(try await admin.call(.put, "/groups/\(group)/members/\(UUID())").status == .notFound)
            #expect(try await admin.call(.delete, "/groups/\(UUID())").status == .notFound)
            #expect(try await auditCount(portico) == audits + 1)
        }
    }
}

@Suite struct PatchValidationTests {
    @Test func anInvalidPatchChangesNothing() async throws {
        try await withAdminAPI { admin, portico in
            let user = try await admin.call(.post, "/users", #"{"email":"p@example.com","name":"P"}"#)
            let api = try await admin.call(.post, "/apis", #"{"name":"a","pathPrefix":"/a","upstream":"http://x"}"#)
            let audits = try await auditCount(portico)
            let badEmail = try await admin.call(.patch, "/users/\(user.id)", #"{"name":"Changed","email":"nope"}"#)
            #expect(badEmail.status == .unprocessableContent)
            let unknownGroup = try await admin.call(.patch, "/users/\(user.id)", #"{"name":"Changed","groups":["ghosts"]}"#)
            #expect(unknownGroup.status == .unprocessableContent)
            let badPrefix = try await admin.call(.patch, "/apis/\(api.id)", #"{"name":"b","pathPrefix":"no-slash"}"#)
            #expect(badPrefix.status == .unprocessableContent)
            let badUpstream = try await admin.call(.patch, "/apis/\(api.id)", #"{"upstream":"mailto:x@y"}"#)
            #expect(badUpstream.status == .unprocessableContent)
            let shownUser = try await admin.call(.get, "/users/\(user.id)")
            let shownAPI = try await admin.call(.get, "/apis/\(api.id)")
            #expect(shownUser.json["name"] as? String == "P")
            #expect(shownUser.json["email"] as? String == "p@example.com")
            #expect(shownAPI.json["name"] as? String == "a")
            #expect(shownAPI.json["upstream"] as? String == "http://x")
            #expect(try await auditCount(portico) == audits)
        }
    }
}
