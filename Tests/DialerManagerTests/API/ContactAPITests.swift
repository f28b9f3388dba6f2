import DialerCore
import Foundation
import HummingbirdTesting
import Testing

@testable import DialerManager

@Suite("Manager API: contacts, search, attempt resets, why not dialable")
struct ContactAPITests {
    @Test func contactsAreAddedReadEditedAndDeleted() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let token = fixture.adminToken
            var reply = try await client.call(
                .post, "/v1/lists/l1/contacts", token: token,
                body:
                    #"{"phone": "20 12 34 56", "default_region": "DK", "priority": 2, "fields": {"first_name": "Åse"}}"#
            )
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.string("phone_number") == "+4520123456")
            // Custom field names are kept as written, not converted.
            #expect((reply["fields"] as? [String: String]) == ["first_name": "Åse"])
            let id = try #require(reply.string("id"))
            reply = try await client.call(
                .post, "/v1/lists/l1/contacts", token: token, body: #"{"phone": "+4520123456"}"#)
            #expect(reply.status == .conflict)
            reply = try await client.call(.post, "/v1/lists/l1/contacts", token: token, body: #"{"phone": "abc"}"#)
            #expect(reply.status == .badRequest)
            reply = try await client.call(.post, "/v1/lists/l1/contacts", token: token, body: #"{"phone": 4520123456}"#)
            #expect(reply.message.hasPrefix("phone: expected"))
            reply = try await client.call(
                .post, "/v1/lists/l1/contacts", token: token, body: #"{"phone": "+4520123457", "prio": 1}"#)
            #expect(reply.message == "prio: is not a known field")
            reply = try await client.call(
                .post, "/v1/lists/nope/contacts", token: token, body: #"{"phone": "+4520123457"}"#)
            #expect(reply.status == .notFound)

            reply = try await client.call(.patch, "/v1/contacts/\(id)", token: token, body: #"{"priority": 7}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.int("priority") == 7)
            #expect((reply["fields"] as? [String: String]) == ["first_name": "Åse"])
            reply = try await client.call(.put, "/v1/contacts/\(id)", token: token, body: #"{"phone": "+4520123458"}"#)
            #expect(reply.string("phone_number") == "+4520123458")
            #expect(reply.int("priority") == 0)
            #expect(try await client.call(.get, "/v1/contacts/\(id)", token: token).status == .ok)
            #expect(try await client.call(.delete, "/v1/contacts/\(id)", token: token).status == .noContent)
            #expect(try await client.call(.get, "/v1/contacts/\(id)", token: token).status == .notFound)
            #expect(try await client.call(.delete, "/v1/contacts/\(id)", token: token).status == .notFound)
        }
    }

    @Test func searchFiltersByFieldAndPagesWithACursor() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            var file = "phone,city\n"
            for index in 0..<5 { file += "+1212555010\(index),\(index % 2 == 0 ? "NY" : "LA")\n" }
            #expect(try await fixture.importFile(client, file).status == .ok)
            var seen: [String] = []
            var after: String?
            repeat {
                let reply = try await client.call(
                    .get, "/v1/contacts?list=l1&limit=2&count=true" + (after.map { "&after=\($0)" } ?? ""),
                    token: fixture.adminToken)
                #expect(reply.int("total") == 5)
                seen += reply.array("contacts").compactMap { $0["phone_number"] as? String }
                after = reply.string("next_after")
            } while after != nil
            #expect(seen == (0..<5).map { "+1212555010\($0)" })
            var reply = try await client.call(.get, "/v1/contacts?campaign=c1&field.city=LA", token: fixture.adminToken)
            #expect(reply.array("contacts").count == 2)
            reply = try await client.call(.get, "/v1/contacts?phone=(212)%20555-0103", token: fixture.adminToken)
            #expect(reply.array("contacts").map { $0["phone_number"] as? String } == ["+12125550103"])
            reply = try await client.call(.get, "/v1/contacts?state=fresh,final", token: fixture.adminToken)
            #expect(reply.array("contacts").count == 5)
            for bad in ["state=gone", "limit=0", "min_attempts=x", "last_outcome=maybe", "sort=phone"] {
                #expect(
                    try await client.call(.get, "/v1/contacts?\(bad)", token: fixture.adminToken).status == .badRequest)
            }
        }
    }

    @Test func attemptCountersResetForOneAFilterOrAll() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            #expect(try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n").status == .ok)
            let store = fixture.process.store
            // Noon in New York: inside the contacts' calling hours, whenever the test runs.
            let noon = Date(timeIntervalSince1970: 1_768_496_400)
            // Use up an attempt through the feeder, as a node would.
            let handed = try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1),
                now: noon, presentAgents: [])
            let contact = try #require(handed.first?.contact.id)
            var reply = try await client.call(
                .post, "/v1/contacts/\(contact)/reset-attempts", token: fixture.adminToken)
            #expect(reply.status == .conflict)
            _ = try await store.closeAttemptsOfLostNode(MemberID("n1"), now: noon)
            reply = try await client.call(.post, "/v1/contacts/\(contact)/reset-attempts", token: fixture.adminToken)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.int("attempts") == 0)
            reply = try await client.call(
                .post, "/v1/contacts/reset-attempts", token: fixture.adminToken, body: #"{"campaign": "c1"}"#)
            #expect(reply.int("reset") == 2)
            reply = try await client.call(
                .post, "/v1/contacts/reset-attempts", token: fixture.adminToken, body: #"{"all": true}"#)
            #expect(reply.int("reset") == 2)
            for bad in [#"{}"#, #"{"all": true, "list": "l1"}"#, #"{"states": ["gone"]}"#, #"{"everything": true}"#] {
                reply = try await client.call(
                    .post, "/v1/contacts/reset-attempts", token: fixture.adminToken, body: bad)
                #expect(reply.status == .badRequest, "\(bad)")
            }
            #expect(
                try await client.call(.post, "/v1/contacts/000000000999/reset-attempts", token: fixture.adminToken)
                    .status
                    == .notFound)
        }
    }

    @Test func aContactsAttemptHistoryShowsTheCallsTimesAndCallerID() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            #expect(try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n").status == .ok)
            let store = fixture.process.store
            // Noon in New York: inside the contacts' calling hours, whenever the test runs.
            let noon = Date(timeIntervalSince1970: 1_768_496_400)
            let handed = try #require(
                try await store.checkOutAttempts(
                    campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: noon,
                    presentAgents: []
                ).first)
            let contact = handed.contact.id
            let reader = try await fixture.token(client, role: "read-only")

            // Open: the attempt is there, its result not yet.
            var reply = try await client.call(.get, "/v1/contacts/\(contact)/attempts", token: reader)
            #expect(reply.status == .ok, "\(reply.text)")
            var attempts = reply.array("attempts")
            #expect(attempts.count == 1)
            #expect(attempts.first?["outcome"] is NSNull && attempts.first?["closed_at"] is NSNull)
            #expect(attempts.first?["handed_out_at"] as? String == "2026-01-15T17:00:00Z")

            let result = AttemptResult(
                attempt: handed.attempt, contact: contact, outcome: .connected, agent: AgentID("a1"),
                answeredAt: noon.addingTimeInterval(12), dialedAt: noon.addingTimeInterval(2),
                bridgedAt: noon.addingTimeInterval(13), callEndedAt: noon.addingTimeInterval(95),
                callerID: "+12125550199")
            guard case .applied = try await store.recordResult(result, now: noon.addingTimeInterval(96)) else {
                Issue.record("the result was not applied")
                return
            }
            reply = try await client.call(.get, "/v1/contacts/\(contact)/attempts", token: reader)
            attempts = reply.array("attempts")
            let attempt = try #require(attempts.first)
            #expect(attempts.count == 1)
            #expect(attempt["id"] as? String == handed.attempt.rawValue)
            #expect(attempt["campaign"] as? String == "c1" && attempt["contact"] as? String == contact.rawValue)
            #expect(attempt["node"] as? String == "n1" && attempt["agent"] as? String == "a1")
            #expect(attempt["outcome"] as? String == "connected")
            #expect(attempt["caller_id"] as? String == "+12125550199")
            #expect(attempt["dialed_at"] as? String == "2026-01-15T17:00:02Z")
            #expect(attempt["answered_at"] as? String == "2026-01-15T17:00:12Z")
            #expect(attempt["bridged_at"] as? String == "2026-01-15T17:00:13Z")
            #expect(attempt["call_ended_at"] as? String == "2026-01-15T17:01:35Z")
            #expect(attempt["closed_at"] as? String == "2026-01-15T17:01:36Z")
            #expect(attempt["disposition"] is NSNull && attempt["disposition_at"] is NSNull)

            // The other contact was never attempted.
            let other = try #require(
                try await store.searchContacts(ContactFilter(phone: "+12125550101"), after: nil, limit: 1).contacts
                    .first)
            reply = try await client.call(.get, "/v1/contacts/\(other.id)/attempts", token: reader)
            #expect(reply.status == .ok && reply.array("attempts").isEmpty && reply["attempts"] != nil)

            reply = try await client.call(.get, "/v1/contacts/000000000999/attempts", token: reader)
            #expect(reply.status == .notFound && reply.error == "not_found", "\(reply.text)")
            #expect(reply.message == "contact 000000000999 does not exist")
            #expect(try await client.call(.get, "/v1/contacts/\(contact)/attempts", token: nil).status == .unauthorized)
        }
    }

    @Test func dialabilityExplainsWhatHoldsAContact() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client, settings: #"{"status": "disabled"}"#)
            #expect(try await fixture.importFile(client, "phone\n+12125550100\n").status == .ok)
            let contact = try #require(
                try await fixture.process.store.searchContacts(ContactFilter(), after: nil, limit: 1).contacts.first)
            let reply = try await client.call(.get, "/v1/contacts/\(contact.id)/dialability", token: fixture.adminToken)
            #expect(reply.status == .ok)
            #expect(reply["dialable"] as? Bool == false)
            let rules = reply.array("holds").compactMap { $0["rule"] as? String }
            #expect(rules.contains("campaignDisabled"))
            let expected = try #require(
                try await fixture.process.store.dialability(of: contact.id, now: Date(), presentAgents: []))
            #expect(rules == expected.verdict.holds.map(\.rule.rawValue))
            #expect(
                try await client.call(.get, "/v1/contacts/nope/dialability", token: fixture.adminToken).status
                    == .notFound)
        }
    }
}
