import DialerCore
import Foundation
import HummingbirdTesting
import Testing

@testable import DialerManager

@Suite("Manager API: campaigns, status, dispositions, figures")
struct CampaignAPITests {
    @Test func campaignsAreCreatedReadUpdatedAndDeleted() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(
                client,
                settings: #"""
                    {"mode": "power", "calls_per_ready_agent": 1.7, "calls_per_wrap_up_agent": 0.1,
                     "ring_timeout": 30, "maximum_attempts": 3, "retry_intervals": {"busy": 600, "no_answer": 3600},
                     "overdial_limit_percent": 20, "attempts_per_five_seconds": 50,
                     "no_agent_policy": {"action": "hold", "message": "please hold", "maximum_hold": 10},
                     "caller_id": {"default_number": "+4533333333"}, "time_zone": "Europe/Copenhagen",
                     "answering_machine": {"action": "hangUp"}, "fresh_versus_retry": "retriesFirst"}
                    """#)
            let read = try await client.call(.get, "/v1/campaigns/c1", token: fixture.adminToken)
            #expect(read.status == .ok)
            let settings = try #require(read["settings"] as? [String: Any])
            #expect(settings["mode"] as? String == "power")
            #expect(settings["calls_per_ready_agent"] as? Double == 1.7)
            #expect(settings["ring_timeout"] as? Double == 30)
            #expect((settings["caller_id"] as? [String: Any])?["default_number"] as? String == "+4533333333")
            #expect(settings["fresh_versus_retry"] as? String == "retriesFirst")
            let stored = try #require(try await fixture.process.store.campaign(CampaignID("c1")))
            #expect(stored.settings.callerID.defaultNumber == "+4533333333")
            #expect(stored.settings.retryIntervals.noAnswer == .seconds(3600))

            let list = try await client.call(.get, "/v1/campaigns", token: fixture.adminToken)
            #expect(list.array("campaigns").map { $0["id"] as? String } == ["c1"])

            // PATCH changes only what it names; the rest stays.
            let patched = try await client.call(
                .patch, "/v1/campaigns/c1", token: fixture.adminToken,
                body: #"{"name": "Renamed", "settings": {"dial_rate": 3}}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(patched.string("name") == "Renamed")
            let after = try #require(try await fixture.process.store.campaign(CampaignID("c1")))
            #expect(after.settings.dialRate == 3)
            #expect(after.settings.mode == .power)

            // PUT replaces: settings not given take their defaults.
            let put = try await client.call(
                .put, "/v1/campaigns/c1", token: fixture.adminToken,
                body: #"{"name": "Put", "list": "l1", "queue": "q1"}"#)
            #expect(put.status == .ok, "\(put.text)")
            #expect(try await fixture.process.store.campaign(CampaignID("c1"))?.settings == CampaignSettings())

            #expect(try await client.call(.delete, "/v1/campaigns/c1", token: fixture.adminToken).status == .noContent)
            #expect(try await client.call(.get, "/v1/campaigns/c1", token: fixture.adminToken).status == .notFound)
            #expect(try await client.call(.delete, "/v1/campaigns/c1", token: fixture.adminToken).status == .notFound)
        }
    }

    @Test(arguments: [
        (#""settings": {"ring_timeout": 10}"#, "settings.ring_timeout: must be at least 15 s"),
        (#""settings": {"dial_rate": 11}"#, "settings.dial_rate: must be 1 to 10"),
        (#""settings": {"mode": "agentless"}"#, "settings.ivr_ports"),
        (#""settings": {"status": "automatic"}"#, "settings.windows: an automatic campaign needs at least one window"),
        (#""settings": {"ring_timout": 30}"#, "settings.ring_timout: is not a known field"),
        (#""colour": "red""#, "colour: is not a known field"),
        (#""settings": {"dial_rate": "three"}"#, "settings.dial_rate: expected"),
        (#""settings": {"mode": "turbo"}"#, "settings.mode"),
        (#""settings": {"time_zone": "Mars/Olympus"}"#, "settings.time_zone"),
        // Numbers that do not fit their field: each named, none reaching a conversion.
        (#""settings": {"ring_timeout": 1e300}"#, "settings.ring_timeout: must be a number of seconds from 0 to"),
        (#""settings": {"ring_timeout": 301}"#, "settings.ring_timeout: must be at least 15 s and at most 300 s"),
        (#""settings": {"retry_intervals": {"busy": 1e12}}"#, "settings.retry_intervals.busy: must be a number of"),
        (#""settings": {"retry_intervals": {"busy": 1e9}}"#, "settings.retry_intervals.busy: must be above 0 s and"),
        (#""settings": {"dial_rate": 2.5}"#, "settings.dial_rate: expected an integer (was 2.5)"),
        (#""settings": {"dial_rate": 1e300}"#, "settings.dial_rate: is out of range"),
        (#""settings": {"maximum_attempts": 99999999999999999999}"#, "settings.maximum_attempts: is out of range"),
        (#""settings": {"maximum_attempts": 100000}"#, "settings.maximum_attempts: must be 1 to 1000"),
        (#""settings": {"ivr_ports": -1e18, "mode": "agentless"}"#, "settings.ivr_ports: must be 1 to 1000"),
        (#""settings": {"predictive": {"target_abandon_rate": 0.5}}"#, "settings.predictive.target_abandon_rate"),
        // Answering-machine detection thresholds (issue 13).
        (
            #""settings": {"answering_machine_detection": {"initial_silence": 20}}"#,
            "settings.answering_machine_detection.initial_silence: must be 0.1 s to 10 s (was 20 s)"
        ),
        (
            #""settings": {"answering_machine_detection": {"maximum_words": 2.5}}"#,
            "settings.answering_machine_detection.maximum_words: expected an integer"
        ),
        (
            #""settings": {"answering_machine_detection": {"greting": 1}}"#,
            "settings.answering_machine_detection.greting: is not a known field"
        ),
        (
            #""settings": {"no_agent_policy": {"action": "hold", "message": "m", "maximum_hold": -1}}"#,
            "settings.no_agent_policy.maximum_hold: must be a number of seconds"
        ),
    ])
    func invalidSettingsAreRejectedNamingTheField(fragment: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            _ = try await client.call(
                .post, "/v1/lists", token: fixture.adminToken, body: #"{"id": "l1", "name": "L"}"#)
            let reply = try await client.call(
                .post, "/v1/campaigns", token: fixture.adminToken,
                body: #"{"id": "c1", "name": "C", "list": "l1", "queue": "q1", \#(fragment)}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.error == "invalid_request")
            #expect(reply.message.contains(message), "\(reply.message)")
            #expect(try await fixture.process.store.campaigns().isEmpty)
        }
    }

    /// Schemathesis killed the manager with this PATCH (a Double-to-Int64 trap): now a 400
    /// naming the field, and the manager goes on serving with the campaign as it was.
    @Test func outOfRangeNumbersInAPatchAreRejectedAndTheManagerStaysUp() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            for body in [
                #"{"settings": {"ring_timeout": 1e300}}"#, #"{"settings": {"ring_timeout": -1e300}}"#,
                #"{"settings": {"retry_intervals": {"unknown": 1e12}}}"#,
                #"{"settings": {"predictive": {"target_average_wait": 1e308}}}"#,
                #"{"settings": {"attempts_per_five_seconds": 1e300}}"#,
            ] {
                let reply = try await client.call(.patch, "/v1/campaigns/c1", token: fixture.adminToken, body: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.text)")
                #expect(reply.message.hasPrefix("settings."), "\(reply.message)")
            }
            let read = try await client.call(.get, "/v1/campaigns/c1", token: fixture.adminToken)
            #expect(read.status == .ok)
            #expect(try await fixture.process.store.campaign(CampaignID("c1"))?.settings.ringTimeout == .seconds(25))
        }
    }

    /// A campaign's queue must be a campaign queue of the cluster configuration: any other
    /// would show enabled and never dial.
    @Test func aCampaignNeedsAQueueTheClusterDials() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let token = fixture.adminToken
            _ = try await client.call(.post, "/v1/lists", token: token, body: #"{"id": "l2", "name": "L2"}"#)
            var reply = try await client.call(
                .post, "/v1/campaigns", token: token,
                body: #"{"id": "c2", "name": "C", "list": "l2", "queue": "nowhere"}"#)
            #expect(reply.status == .badRequest)
            #expect(
                reply.message.hasPrefix("queue: nowhere is not a queue of the cluster configuration"),
                "\(reply.message)")
            #expect(reply.message.contains("q1, q2, q3"))
            reply = try await client.call(
                .post, "/v1/campaigns", token: token,
                body: #"{"id": "c2", "name": "C", "list": "l2", "queue": "support"}"#)
            #expect(reply.status == .conflict)
            #expect(reply.message.hasPrefix("queue: support is an inbound queue"), "\(reply.message)")
            reply = try await client.call(.patch, "/v1/campaigns/c1", token: token, body: #"{"queue": "support"}"#)
            #expect(reply.status == .conflict)
            #expect(try await fixture.process.store.campaign(CampaignID("c1"))?.queue == QueueID("q1"))
        }
    }

    /// Compliance profiles, per cluster or per campaign: each broken rule is named with its
    /// profile; `none` keeps only the ranges.
    @Test func complianceProfilesAreEnforcedNamingTheRule() async throws {
        let fixture = try await APIFixture(manager: #"compliance_profile = "us-ftc""#)
        try await fixture.test { client in
            let token = fixture.adminToken
            _ = try await client.call(.post, "/v1/lists", token: token, body: #"{"id": "l1", "name": "L"}"#)
            func create(_ settings: String) async throws -> Reply {
                try await client.call(
                    .post, "/v1/campaigns", token: token,
                    body: #"{"id": "c1", "name": "C", "list": "l1", "queue": "q1", "settings": \#(settings)}"#)
            }
            // The defaults break three us-ftc rules: no caller ID, hang up without a message.
            var reply = try await create(#"{"predictive": {"target_abandon_rate": 0.05}}"#)
            #expect(reply.status == .badRequest)
            for part in [
                "settings.predictive.target_abandon_rate: us-ftc: at most 0.03 (3 % over 30d) (was 0.05)",
                "settings.caller_id.default_number: us-ftc: a caller ID is required",
                "settings.no_agent_policy: us-ftc: a caller no agent takes must hear a message",
            ] {
                #expect(reply.message.contains(part), "\(part) not in \(reply.message)")
            }
            reply = try await create(
                #"{"caller_id": {"default_number": "+12125550199"}, "predictive": {"regulated_windows": ["24h"]}, "no_agent_policy": {"action": "hold", "message": "m", "maximum_hold": 5}}"#
            )
            #expect(reply.message.contains("settings.predictive.regulated_windows: us-ftc: must include 30d"))
            #expect(reply.message.contains("settings.no_agent_policy.maximum_hold: us-ftc: at most 2 s"))
            let compliant =
                #"{"caller_id": {"default_number": "+12125550199"}, "no_agent_policy": {"action": "hold", "message": "m", "maximum_hold": 2}}"#
            reply = try await create(compliant)
            #expect(reply.status == .created, "\(reply.text)")
            // A campaign may name its own profile: uk-ofcom needs the 24-hour window (the default has both).
            reply = try await client.call(
                .patch, "/v1/campaigns/c1", token: token,
                body: #"{"settings": {"compliance": "uk-ofcom", "predictive": {"regulated_windows": ["30d"]}}}"#)
            #expect(reply.status == .badRequest)
            #expect(
                reply.message
                    == "settings.predictive.regulated_windows: uk-ofcom: must include 24h, the window the rate is regulated over"
            )
            reply = try await client.call(
                .patch, "/v1/campaigns/c1", token: token,
                body:
                    #"{"settings": {"compliance": "none", "caller_id": {"default_number": null}, "no_agent_policy": {"action": "hangUp", "message": null, "maximum_hold": null}}}"#
            )
            #expect(reply.status == .ok, "\(reply.text)")
            // Above 10 % no profile allows.
            reply = try await client.call(
                .patch, "/v1/campaigns/c1", token: token,
                body: #"{"settings": {"predictive": {"target_abandon_rate": 0.5}}}"#)
            #expect(reply.message == "settings.predictive.target_abandon_rate: must be 0 to 0.1 (was 0.5)")
        }
    }

    @Test func badCampaignRequestsGetTheirStatus() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let token = fixture.adminToken
            // Missing field, malformed JSON, a list that does not exist, a taken id, a taken list.
            var reply = try await client.call(
                .post, "/v1/campaigns", token: token, body: #"{"id": "c2", "name": "C", "list": "l1"}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.message == "queue: is required")
            reply = try await client.call(.post, "/v1/campaigns", token: token, body: #"{"id": "c2","#)
            #expect(reply.status == .badRequest)
            reply = try await client.call(
                .post, "/v1/campaigns", token: token, body: #"{"id": "c2", "name": "C", "list": "nope", "queue": "q2"}"#
            )
            #expect(reply.status == .notFound)
            reply = try await client.call(
                .post, "/v1/campaigns", token: token, body: #"{"id": "c1", "name": "C", "list": "l1", "queue": "q1"}"#)
            #expect(reply.status == .conflict)
            reply = try await client.call(
                .post, "/v1/campaigns", token: token, body: #"{"id": "../x", "name": "C", "list": "l1", "queue": "q9"}"#
            )
            #expect(reply.status == .badRequest)
            #expect(reply.message.hasPrefix("id:"))
            // An id in the body of a PUT must be the campaign's.
            reply = try await client.call(
                .put, "/v1/campaigns/c1", token: token, body: #"{"id": "c9", "name": "C", "list": "l1", "queue": "q1"}"#
            )
            #expect(reply.status == .badRequest)
            reply = try await client.call(.patch, "/v1/campaigns/c1", token: token, body: #"[1]"#)
            #expect(reply.status == .badRequest)
            reply = try await client.call(.put, "/v1/campaigns/none", token: token, body: #"{}"#)
            #expect(reply.status == .notFound)
            // Read-only may read, not write; no token: 401.
            let readOnly = try await fixture.token(client, role: "read-only")
            #expect(try await client.call(.get, "/v1/campaigns/c1", token: readOnly).status == .ok)
            #expect(try await client.call(.post, "/v1/campaigns/c1/start", token: readOnly).status == .forbidden)
            #expect(try await client.call(.get, "/v1/campaigns", token: nil).status == .unauthorized)
            // Nothing changed.
            #expect(try await fixture.process.store.campaigns().map(\.id) == [CampaignID("c1")])
        }
    }

    @Test func startStopAndStatusSetTheStatusAndTellTheCluster() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client, settings: #"{"status": "disabled"}"#)
            let changes = fixture.process.changes
            let before = await changes.revision(of: CampaignID("c1"))
            var reply = try await client.call(.post, "/v1/campaigns/c1/start", token: fixture.adminToken)
            #expect((reply["settings"] as? [String: Any])?["status"] as? String == "enabled")
            #expect(await changes.revision(of: CampaignID("c1")) > before)
            reply = try await client.call(.post, "/v1/campaigns/c1/stop", token: fixture.adminToken)
            #expect((reply["settings"] as? [String: Any])?["status"] as? String == "disabled")
            // Automatic needs windows.
            reply = try await client.call(
                .put, "/v1/campaigns/c1/status", token: fixture.adminToken, body: #"{"status": "automatic"}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.message.contains("settings.windows"))
            reply = try await client.call(
                .patch, "/v1/campaigns/c1", token: fixture.adminToken,
                body: #"{"settings": {"windows": [{"weekday": "monday", "start": "09:00", "end": "17:00"}]}}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            reply = try await client.call(
                .put, "/v1/campaigns/c1/status", token: fixture.adminToken, body: #"{"status": "automatic"}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(try await fixture.process.store.campaign(CampaignID("c1"))?.settings.status == .automatic)
            reply = try await client.call(
                .put, "/v1/campaigns/c1/status", token: fixture.adminToken, body: #"{"status": "on"}"#)
            #expect(reply.status == .badRequest)
            #expect(
                try await client.call(.post, "/v1/campaigns/none/start", token: fixture.adminToken).status == .notFound)
        }
    }

    @Test func dispositionsAreManaged() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let token = fixture.adminToken
            var reply = try await client.call(
                .post, "/v1/campaigns/c1/dispositions", token: token,
                body: #"{"name": "call back", "kind": "callback", "private_allowed": true}"#)
            #expect(reply.status == .created, "\(reply.text)")
            reply = try await client.call(
                .post, "/v1/campaigns/c1/dispositions", token: token, body: #"{"name": "sale", "kind": "final"}"#)
            #expect(reply.status == .created)
            reply = try await client.call(
                .post, "/v1/campaigns/c1/dispositions", token: token, body: #"{"name": "sale", "kind": "final"}"#)
            #expect(reply.status == .conflict)
            reply = try await client.call(
                .post, "/v1/campaigns/c1/dispositions", token: token,
                body: #"{"name": "x", "kind": "final", "private_allowed": true}"#)
            #expect(reply.status == .badRequest)
            reply = try await client.call(
                .post, "/v1/campaigns/c1/dispositions", token: token, body: #"{"name": "x", "kind": "maybe"}"#)
            #expect(reply.status == .badRequest)
            reply = try await client.call(.get, "/v1/campaigns/c1/dispositions", token: token)
            #expect(reply.array("dispositions").map { $0["name"] as? String } == ["call back", "sale"])
            reply = try await client.call(.get, "/v1/campaigns/c1/dispositions/call%20back", token: token)
            #expect(reply["private_allowed"] as? Bool == true)
            reply = try await client.call(
                .put, "/v1/campaigns/c1/dispositions/sale", token: token, body: #"{"name": "sold", "kind": "final"}"#)
            #expect(reply.status == .ok)
            #expect(
                try await fixture.process.store.dispositions(of: CampaignID("c1")).map(\.name) == ["call back", "sold"])
            #expect(
                try await client.call(.delete, "/v1/campaigns/c1/dispositions/sold", token: token).status == .noContent)
            #expect(
                try await client.call(.delete, "/v1/campaigns/c1/dispositions/sold", token: token).status == .notFound)
            #expect(try await client.call(.get, "/v1/campaigns/c9/dispositions", token: token).status == .notFound)
        }
    }

    @Test func reportAndDialabilityCountTheContacts() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let imported = try await fixture.importFile(client, "phone\n+12125550100\n+12125550101\n")
            #expect(imported.status == .ok, "\(imported.text)")
            _ = try await client.call(.post, "/v1/dnc", token: fixture.adminToken, body: #"{"phone": "+12125550101"}"#)
            let report = try await client.call(.get, "/v1/campaigns/c1/report", token: fixture.adminToken)
            #expect(report.status == .ok)
            #expect(report.int("contacts") == 2)
            #expect(report.int("attempts") == 0)
            #expect(report.array("abandon_rates").map { $0["window"] as? String } == ["24h", "30d"])
            let summary = try await client.call(.get, "/v1/campaigns/c1/dialability", token: fixture.adminToken)
            #expect(summary.int("contacts") == 2)
            #expect((summary["held_by"] as? [String: Int])?["doNotCall"] == 1)
            let expected = try #require(
                try await fixture.process.store.campaignSummary(CampaignID("c1"), now: Date(), presentAgents: []))
            #expect(summary.int("dialable_now") == expected.dialableNow)
            // No node (the API runs without its cluster), no agent for q1, no caller ID: all named.
            #expect(summary["blocked_by"] as? [String] == ["noOwner", "noAgentRanked", "noCallerID"])
            _ = try await client.call(
                .post, "/v1/teams", token: fixture.adminToken,
                body: #"{"id": "t1", "name": "T", "queue_ranking": [{"queue": "q1", "rank": 1}]}"#)
            _ = try await client.call(
                .post, "/v1/agents", token: fixture.adminToken,
                body: #"{"id": "a1", "login": "ann", "name": "Ann", "team": "t1", "password": "correct horse"}"#)
            _ = try await client.call(
                .patch, "/v1/campaigns/c1", token: fixture.adminToken,
                body: #"{"settings": {"caller_id": {"default_number": "+12125550199"}}}"#)
            let after = try await client.call(.get, "/v1/campaigns/c1/dialability", token: fixture.adminToken)
            #expect(after["blocked_by"] as? [String] == ["noOwner"])
            #expect(
                try await client.call(.get, "/v1/campaigns/c9/report", token: fixture.adminToken).status == .notFound)
            #expect(
                try await client.call(.get, "/v1/campaigns/c9/dialability", token: fixture.adminToken).status
                    == .notFound)
        }
    }
}
