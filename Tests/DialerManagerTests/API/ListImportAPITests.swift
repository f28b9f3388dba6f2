import DialerCore
import Foundation
import HummingbirdTesting
import Testing

@testable import DialerManager

@Suite("Manager API: contact lists and imports")
struct ListImportAPITests {
    @Test func listsAreCreatedReadUpdatedAndDeleted() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let token = fixture.adminToken
            var reply = try await client.call(
                .post, "/v1/lists", token: token, body: #"{"id": "l1", "name": "Leads", "description": "spring"}"#)
            #expect(reply.status == .created)
            #expect(reply.int("contact_count") == 0)
            #expect(
                try await client.call(.post, "/v1/lists", token: token, body: #"{"id": "l1", "name": "x"}"#).status
                    == .conflict)
            reply = try await client.call(.post, "/v1/lists", token: token, body: #"{"name": "x"}"#)
            #expect(reply.message == "id: is required")
            reply = try await client.call(
                .post, "/v1/lists", token: token, body: #"{"id": "l2", "name": "x", "size": 3}"#)
            #expect(reply.message == "size: is not a known field")
            reply = try await client.call(.get, "/v1/lists/l1", token: token)
            #expect(reply.string("description") == "spring")
            reply = try await client.call(.patch, "/v1/lists/l1", token: token, body: #"{"name": "Renamed"}"#)
            #expect(reply.string("name") == "Renamed")
            #expect(reply.string("description") == "spring")
            reply = try await client.call(.put, "/v1/lists/l1", token: token, body: #"{"name": "Put"}"#)
            #expect(reply.string("description") == "")
            reply = try await client.call(.get, "/v1/lists", token: token)
            #expect(reply.array("lists").map { $0["name"] as? String } == ["Put"])
            // A list a campaign dials cannot go.
            _ = try await client.call(
                .post, "/v1/campaigns", token: token, body: #"{"id": "c1", "name": "C", "list": "l1", "queue": "q1"}"#)
            #expect(try await client.call(.delete, "/v1/lists/l1", token: token).status == .conflict)
            _ = try await client.call(.delete, "/v1/campaigns/c1", token: token)
            #expect(try await client.call(.delete, "/v1/lists/l1", token: token).status == .noContent)
            #expect(try await client.call(.get, "/v1/lists/l1", token: token).status == .notFound)
            #expect(try await client.call(.delete, "/v1/lists/l1", token: token).status == .notFound)
        }
    }

    @Test func anImportRunsAsAJobWhoseProgressAndRejectedRowsCanBeRead() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let file =
                "\u{FEFF}Phone;Name;City\n+12125550100;Zoë;\"Paris; France\"\n12125550101;Bo;NY\nnot a number;X;Y\n"
                + "+12125550100;Dup;Z\n"
            let started = try await client.call(
                .post, "/v1/lists/l1/imports?format=csv&delimiter=semicolon&name=spring.csv", token: fixture.adminToken,
                body: file)
            #expect(started.status == .accepted, "\(started.text)")
            let job = try #require(started.int("id"))
            // Watch the job until it ends, as a client would.
            var status = started.string("status")
            var reply = started
            for _ in 0..<500 where status == "queued" || status == "running" {
                try await Task.sleep(for: .milliseconds(10))
                reply = try await client.call(.get, "/v1/imports/\(job)", token: fixture.adminToken)
                status = reply.string("status")
            }
            #expect(status == "succeeded", "\(reply.text)")
            #expect(reply.int("accepted") == 2)
            #expect(reply.int("duplicates") == 1)
            #expect(reply.int("rejected") == 1)
            #expect(reply.string("source_name") == "spring.csv")
            let rejected = try await client.call(.get, "/v1/imports/\(job)/rejected", token: fixture.adminToken)
            #expect(rejected.array("rows").map { $0["row"] as? Int } == [4])
            let history = try await client.call(.get, "/v1/lists/l1/imports", token: fixture.adminToken)
            #expect(history.array("imports").map { $0["id"] as? Int } == [job])
            let contacts = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10)
            #expect(contacts.contacts.map(\.fields["City"]) == ["Paris; France", "NY"])
            #expect(contacts.contacts.first?.fields["Name"] == "Zoë")
            #expect(try await client.call(.get, "/v1/imports/999", token: fixture.adminToken).status == .notFound)
            #expect(try await client.call(.get, "/v1/imports/abc", token: fixture.adminToken).status == .badRequest)
        }
    }

    @Test func jsonImportsWithAMappingAndReplaceMode() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            var reply = try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n")
            #expect(reply.status == .ok)
            reply = try await fixture.importFile(
                client, query: "format=json&mode=replace&phone_column=tel&priority_column=prio&fields=none",
                #"[{"tel": "+12125550199", "prio": 3, "name": "A"}]"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect((reply["job"] as? [String: Any])?["accepted"] as? Int == 1, "\(reply.text)")
            let contacts = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10
            ).contacts
            #expect(contacts.map(\.phoneNumber) == ["+12125550199"])
            #expect(contacts.first?.priority == 3)
            #expect(contacts.first?.fields == [:])
        }
    }

    @Test(arguments: [
        ("name\nAnn\n", ""),
        ("phone,name\n+12125550100,Ann\n", "delimiter=semicolon"),
        (#"{"phone": "+12125550100"}"#, "format=json"),
        ("[{\"phone\": \"+12125550100\"}, ", "format=json"),
    ])
    func aFailedImportLeavesTheListAsItWasInReplaceModeToo(file: String, query: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            _ = try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n")
            let before = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10)
            for mode in ["append", "replace"] {
                let reply = try await fixture.importFile(
                    client, query: "mode=\(mode)" + (query.isEmpty ? "" : "&" + query), file)
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                let job = try #require(reply["job"] as? [String: Any])
                #expect(job["status"] as? String == "failed")
                #expect((job["error"] as? String)?.isEmpty == false)
                let after = try await fixture.process.store.searchContacts(
                    ContactFilter(list: ContactListID("l1")), after: nil, limit: 10)
                #expect(after == before)
            }
            // The server goes on serving.
            #expect(try await client.call(.get, "/v1/lists/l1", token: fixture.adminToken).int("contact_count") == 2)
        }
    }

    /// A replace by one good row and garbage would leave a good list with one contact:
    /// max_rejected (a count or a percentage) fails such an import and the list stays as it was.
    @Test(arguments: ["max_rejected=2", "max_rejected=50%"])
    func maxRejectedStopsAReplaceOfMostlyGarbage(limit: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            _ = try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n+12125550102\n")
            let garbage = "phone\n+12125550199\nnot a number\n???\nalso bad\n"
            let reply = try await fixture.importFile(client, query: "mode=replace&\(limit)", garbage)
            #expect(reply.status == .unprocessableContent, "\(reply.text)")
            let job = try #require(reply["job"] as? [String: Any])
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? String)?.contains("3 of 4 rows rejected, over max_rejected=") == true, "\(job)")
            let contacts = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10
            ).contacts
            #expect(contacts.count == 3)
            // Under the limit the import goes through.
            let fine = try await fixture.importFile(
                client, query: "mode=replace&max_rejected=1", "phone\n+12125550199\nbad\n")
            #expect(fine.status == .ok, "\(fine.text)")
            #expect(try await client.call(.get, "/v1/lists/l1", token: fixture.adminToken).int("contact_count") == 1)
            let bad = try await fixture.importFile(client, query: "max_rejected=lots", "phone\n+12125550199\n")
            #expect(bad.status == .badRequest)
            #expect(bad.message.hasPrefix("max_rejected: must be a count"))
        }
    }

    /// dry_run=true reads and checks the file and says what the import would do; the list does
    /// not change, and the job is marked as a dry run in the history.
    @Test func aDryRunReportsWithoutChangingTheList() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            _ = try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n")
            let before = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10)
            var reply = try await fixture.importFile(
                client, query: "dry_run=true", "phone\n+12125550100\n+12125550102\nbad\n+12125550102\n")
            #expect(reply.status == .ok, "\(reply.text)")
            var job = try #require(reply["job"] as? [String: Any])
            #expect(job["dry_run"] as? Bool == true)
            #expect(job["accepted"] as? Int == 1)
            #expect(job["duplicates"] as? Int == 2)
            #expect(job["rejected"] as? Int == 1)
            #expect((reply["rejected_rows"] as? [[String: Any]])?.first?["row"] as? Int == 4)
            reply = try await fixture.importFile(client, query: "dry_run=true&mode=replace", "phone\n+12125550199\n")
            job = try #require(reply["job"] as? [String: Any])
            #expect(job["accepted"] as? Int == 1 && job["status"] as? String == "succeeded")
            let after = try await fixture.process.store.searchContacts(
                ContactFilter(list: ContactListID("l1")), after: nil, limit: 10)
            #expect(after == before)
            #expect(try await (fixture.process.store as? SQLiteManagerStore)?.stagedRowCount() == 0)
            let history = try await client.call(.get, "/v1/lists/l1/imports", token: fixture.adminToken)
            #expect(history.array("imports").map { $0["dry_run"] as? Bool } == [true, true, false])
        }
    }

    @Test(arguments: [
        ("format=xml", "format: must be one of csv, json"),
        ("mode=merge", "mode: must be one of append, replace"),
        ("delimiter=colon", "delimiter: must be"),
        ("default_region=Denmark", "default_region: must be"),
        ("phone_column=", "phone_column: must name a column"),
        ("colour=red", "colour: is not a known query parameter"),
    ])
    func badImportParametersAreRejectedBeforeReading(query: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let reply = try await fixture.importFile(client, query: query, "phone\n+12125550100\n")
            #expect(reply.status == .badRequest)
            #expect(reply.message.contains(message), "\(reply.message)")
            #expect(try await fixture.process.store.importJobs(list: ContactListID("l1"), limit: 10).isEmpty)
        }
    }

    @Test func importsHaveTheirOwnSizeLimitAndUnknownListsAre404() async throws {
        let fixture = try await APIFixture(manager: "max_import_bytes = 2048")
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let big = "phone\n" + String(repeating: "+12125550100\n", count: 400)
            var reply = try await fixture.importFile(client, big)
            #expect(reply.status == .contentTooLarge)
            #expect(try await fixture.process.store.importJobs(list: ContactListID("l1"), limit: 10).isEmpty)
            // A file under the import limit goes through.
            reply = try await fixture.importFile(client, "phone\n+12125550100\n")
            #expect(reply.status == .ok)
            reply = try await fixture.importFile(client, list: "nope", "phone\n+12125550100\n")
            #expect(reply.status == .notFound)
            let readOnly = try await fixture.token(client, role: "read-only")
            reply = try await client.call(.post, "/v1/lists/l1/imports", token: readOnly, body: "phone\n")
            #expect(reply.status == .forbidden)
        }
    }
}
