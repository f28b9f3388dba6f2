import DialerCore
import DialerTransport
import Foundation
import HummingbirdTesting
import Testing

@testable import DialerManager

@Suite("Manager API: do-not-call lists")
struct DoNotCallAPITests {
    @Test func globalAndCampaignNumbersAreAddedCheckedListedAndRemoved() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            let token = fixture.adminToken
            var reply = try await client.call(
                .post, "/v1/dnc", token: token, body: #"{"phone": "(212) 555-0100", "note": "asked"}"#)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.string("phone") == "+12125550100")
            #expect(
                try await client.call(.post, "/v1/dnc", token: token, body: #"{"phone": "+12125550100"}"#).status == .ok
            )
            reply = try await client.call(
                .post, "/v1/campaigns/c1/dnc", token: token, body: #"{"phone": "+12125550101"}"#)
            #expect(reply.status == .created)
            // Global numbers apply to the campaign; campaign numbers not globally.
            #expect(
                try await client.call(.get, "/v1/campaigns/c1/dnc/+12125550100", token: token)["do_not_call"] as? Bool
                    == true)
            #expect(
                try await client.call(.get, "/v1/campaigns/c1/dnc/%2B12125550101", token: token)["do_not_call"] as? Bool
                    == true)
            #expect(try await client.call(.get, "/v1/dnc/+12125550101", token: token)["do_not_call"] as? Bool == false)
            reply = try await client.call(.get, "/v1/dnc", token: token)
            #expect(reply.array("numbers").map { $0["phone"] as? String } == ["+12125550100"])
            #expect(reply.array("numbers").first?["note"] as? String == "asked")
            #expect(try await client.call(.delete, "/v1/dnc/+12125550100", token: token).status == .noContent)
            #expect(try await client.call(.delete, "/v1/dnc/+12125550100", token: token).status == .notFound)
            #expect(try await client.call(.get, "/v1/dnc/not-a-number", token: token).status == .badRequest)
            #expect(
                try await client.call(.post, "/v1/dnc", token: token, body: #"{"number": "1"}"#).status == .badRequest)
            #expect(try await client.call(.get, "/v1/campaigns/c9/dnc", token: token).status == .notFound)
            let readOnly = try await fixture.token(client, role: "read-only")
            #expect(
                try await client.call(.post, "/v1/dnc", token: readOnly, body: #"{"phone": "+1"}"#).status == .forbidden
            )
        }
    }

    @Test func aFileOfNumbersIsImported() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            var reply = try await client.call(
                .post, "/v1/campaigns/c1/dnc/imports?delimiter=semicolon&phone_column=tel", token: fixture.adminToken,
                body: "tel;x\n+12125550100;a\n+12125550101;b\nbad;c\n")
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.int("added") == 2)
            #expect(reply.int("rejected") == 1)
            #expect(
                try await fixture.process.store.isDoNotCall(
                    "+12125550101", campaign: CampaignID("c1"), defaultRegion: "US"))
            reply = try await client.call(
                .post, "/v1/dnc/imports?format=json", token: fixture.adminToken, body: #"[{"phone": "+12125550102"}]"#)
            #expect(reply.int("added") == 1)
            reply = try await client.call(
                .post, "/v1/dnc/imports?mode=replace", token: fixture.adminToken, body: "phone\n")
            #expect(reply.status == .badRequest)
            reply = try await client.call(.post, "/v1/dnc/imports", token: fixture.adminToken, body: "name\nAnn\n")
            #expect(reply.status == .unprocessableContent || reply.status == .badRequest, "\(reply.text)")
        }
    }
}

@Suite("Manager API: agents and teams")
struct AgentAPITests {
    @Test func agentsAndTeamsAreManagedAndPasswordsNeverReturned() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let token = fixture.adminToken
            let changes = fixture.process.changes
            let version = await changes.agentsVersion
            var reply = try await client.call(
                .post, "/v1/teams", token: token,
                body:
                    #"{"id": "t1", "name": "Sales", "queue_ranking": [{"queue": "sales", "rank": 1}, {"queue": "support", "rank": 5}]}"#
            )
            #expect(reply.status == .created, "\(reply.text)")
            reply = try await client.call(
                .post, "/v1/agents", token: token,
                body:
                    #"{"id": "a1", "login": "ann", "name": "Ann", "team": "t1", "skills": [{"queue": "support", "rank": 0}], "password": "correct horse"}"#
            )
            #expect(reply.status == .created, "\(reply.text)")
            #expect(!reply.text.contains("password") && !reply.text.contains("correct horse"))
            let effective = reply.array("effective_skills").map { "\($0["queue"]!)=\($0["rank"]!)" }
            #expect(effective == ["support=0", "sales=1"])
            #expect(await changes.agentsVersion > version)
            #expect(try await fixture.process.store.authenticateAgent(login: "ann", password: "correct horse") != nil)

            reply = try await client.call(
                .post, "/v1/agents", token: token,
                body: #"{"id": "a2", "login": "ANN", "name": "B", "password": "12345678"}"#)
            #expect(reply.status == .conflict)
            reply = try await client.call(
                .post, "/v1/agents", token: token,
                body: #"{"id": "a2", "login": "bo", "name": "B", "password": "short"}"#)
            #expect(reply.message.hasPrefix("password:"))
            reply = try await client.call(
                .post, "/v1/agents", token: token, body: #"{"id": "a2", "login": "bo", "name": "B"}"#)
            #expect(reply.message == "password: is required")
            reply = try await client.call(
                .post, "/v1/agents", token: token,
                body:
                    #"{"id": "a2", "login": "bo", "name": "B", "password": "12345678", "skills": [{"queue": "q", "rank": -1}]}"#
            )
            #expect(reply.message.hasPrefix("skills[0].rank"))
            reply = try await client.call(
                .post, "/v1/agents", token: token,
                body: #"{"id": "a2", "login": "bo", "name": "B", "password": "12345678", "team": "none"}"#)
            #expect(reply.status == .notFound)

            reply = try await client.call(.patch, "/v1/agents/a1", token: token, body: #"{"password": "new password"}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(!reply.text.contains("password"))
            #expect(try await fixture.process.store.authenticateAgent(login: "ann", password: "new password") != nil)
            reply = try await client.call(
                .put, "/v1/agents/a1", token: token, body: #"{"login": "ann", "name": "Ann B"}"#)
            #expect(reply.string("name") == "Ann B")
            #expect(reply.string("team") == nil)
            reply = try await client.call(.get, "/v1/agents", token: token)
            #expect(reply.array("agents").map { $0["id"] as? String } == ["a1"])

            reply = try await client.call(.patch, "/v1/teams/t1", token: token, body: #"{"name": "Sales 2"}"#)
            #expect(reply.string("name") == "Sales 2")
            #expect(reply.array("queue_ranking").count == 2)
            reply = try await client.call(
                .put, "/v1/teams/t1", token: token, body: #"{"name": "S", "queue_ranking": []}"#)
            #expect(reply.array("queue_ranking").isEmpty)
            #expect(try await client.call(.get, "/v1/teams", token: token).array("teams").count == 1)
            #expect(try await client.call(.get, "/v1/teams/t1", token: token).status == .ok)
            #expect(
                try await client.call(.post, "/v1/teams", token: token, body: #"{"id": "t1", "name": "x"}"#).status
                    == .conflict)

            let supervisor = try await fixture.token(client, role: "supervisor")
            #expect(try await client.call(.get, "/v1/agents/a1", token: supervisor).status == .ok)
            #expect(try await client.call(.delete, "/v1/agents/a1", token: supervisor).status == .forbidden)
            #expect(try await client.call(.delete, "/v1/agents/a1", token: token).status == .noContent)
            #expect(try await client.call(.get, "/v1/agents/a1", token: token).status == .notFound)
            #expect(try await client.call(.delete, "/v1/teams/t1", token: token).status == .noContent)
            #expect(try await client.call(.delete, "/v1/teams/t1", token: token).status == .notFound)
        }
    }
}

@Suite("Manager API: agents' resume tokens")
struct ResumeTokenAPITests {
    /// An administrator gets a token for an agent, signed with the cluster secret's key and at
    /// the agent's credential generation; a password change moves the generation on.
    @Test func anAdministratorGetsATokenThatAPasswordChangeOutdates() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let token = fixture.adminToken
            var reply = try await client.call(
                .post, "/v1/agents", token: token,
                body: #"{"id": "a1", "login": "ann", "name": "Ann", "password": "correct horse"}"#)
            #expect(reply.status == .created, "\(reply.text)")
            reply = try await client.call(.post, "/v1/agents/a1/resume-token", token: token)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.string("agent") == "a1" && reply.string("expires_at") != nil)
            let text = try #require(reply.string("token"))
            let claims = try AgentResumeTokens(secret: "test").verify(
                text, nowMs: AgentResumeTokens.wallNowMilliseconds())
            let record = try #require(try await fixture.process.store.agent(AgentID("a1")))
            #expect(
                claims.agent == "a1" && claims.generation == AgentResumeTokens.generation(updatedAt: record.updatedAt))

            reply = try await client.call(.patch, "/v1/agents/a1", token: token, body: #"{"password": "new password"}"#)
            #expect(reply.status == .ok)
            let changed = try #require(try await fixture.process.store.agent(AgentID("a1")))
            #expect(AgentResumeTokens.generation(updatedAt: changed.updatedAt) != claims.generation)

            reply = try await client.call(.post, "/v1/agents/nobody/resume-token", token: token)
            #expect(reply.status == .notFound)
            let supervisor = try await fixture.token(client, role: "supervisor")
            reply = try await client.call(.post, "/v1/agents/a1/resume-token", token: supervisor)
            #expect(reply.status == .forbidden)
        }
    }
}
