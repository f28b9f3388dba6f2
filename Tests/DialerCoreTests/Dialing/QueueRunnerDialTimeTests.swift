import DialerCore
import Foundation
import Testing

/// What the runner decides at the moment of dialing: the caller ID's pre-dial rules, calling
/// hours checked again, and the trunk refusing a call for its limits.
@Suite("Queue runner state machine: decisions at dial time")
struct QueueRunnerDialTimeTests {
    @Test func aPreDialRuleComesBeforeTheContactsOwnNumberWhichComesBeforeTheCampaigns() {
        var settings = CampaignSettings(mode: .power)
        settings.callerID = CallerIDSettings(
            defaultNumber: "+442000000000",
            preDialRules: [
                PreDialCallerIDRule(present: "+449000000001", field: "tier", fieldValues: ["gold"]),
                PreDialCallerIDRule(present: "+449000000002", numberPrefixes: ["+44207000003"]),
            ])
        var runner = ScriptedRunner(settings, contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        var targets = ScriptedRunner.targets(4, callerID: "+443000000000")
        targets[0].fields = ["tier": "gold"]
        targets[1].fields = ["tier": "silver"]
        targets[3].callerID = nil
        runner.send(.contactsArrived(targets, exhausted: true))
        let actions = runner.send(.agentsChanged(ScriptedRunner.agents(available: 4)))
        let callerIDs = actions.compactMap { if case .originate(_, let request) = $0 { request.callerID } else { nil } }
        // 1: the field rule; 2: silver matches no rule, its own number; 3: the prefix rule over
        // its own number; 4: no rule, no own number, the campaign's.
        #expect(callerIDs == ["+449000000001", "+443000000000", "+449000000002", "+442000000000"])
        let reported = reports(runner.send(.progress(originated(actions)[0], .busy(at: runner.now))))
        #expect(reported.map(\.callerID) == ["+449000000001"], "the report says what was presented")
    }

    @Test func preDialRulesAreValidated() {
        var settings = CampaignSettings()
        settings.callerID.preDialRules = [
            PreDialCallerIDRule(present: "12345", numberPrefixes: ["+1"]),
            PreDialCallerIDRule(present: "+4512345678"),
            PreDialCallerIDRule(present: "+4512345678", numberPrefixes: ["1212"], field: "tier"),
            PreDialCallerIDRule(present: "+4512345678", fieldValues: ["gold"]),
        ]
        #expect(
            settings.validate().map(\.field) == [
                "callerID.preDialRules[0].present", "callerID.preDialRules[1]",
                "callerID.preDialRules[2].numberPrefixes", "callerID.preDialRules[2].fieldValues",
                "callerID.preDialRules[3].field", "callerID.preDialRules[3]",
            ])
        settings.callerID.preDialRules = [PreDialCallerIDRule(present: "+4512345678", numberPrefixes: ["+1212"])]
        #expect(settings.validate() == [])
    }

    @Test func preDialRulesSurviveTheirJSONAndOldSettingsReadWithout() throws {
        let rule = PreDialCallerIDRule(
            present: "+4512345678", numberPrefixes: ["+1"], field: "tier", fieldValues: ["a"])
        let settings = CallerIDSettings(preDialRules: [rule])
        let decoded = try JSONDecoder().decode(CallerIDSettings.self, from: JSONEncoder().encode(settings))
        #expect(decoded == settings)
        let old = try JSONDecoder().decode(CallerIDSettings.self, from: Data(#"{"pool": []}"#.utf8))
        #expect(old.preDialRules.isEmpty)
    }

    /// Hours 09:00–21:00 in London; the runner's calendar reads 20:59:58 there at its first
    /// moment. Two seconds later, the contacts in hand are not dialed but handed back.
    @Test func callingHoursAreCheckedAgainWhenTheContactIsDialed() throws {
        var settings = CampaignSettings(status: .enabled, mode: .power, callsPerReadyAgent: 1)
        settings.timeZone = "Europe/London"
        settings.callingHours = CallingHours(start: LocalTime(hour: 9), end: LocalTime(hour: 21))
        // 2026-06-01 19:59:58 UTC is 20:59:58 in London (summer time).
        let evening = Date(timeIntervalSince1970: 1_780_343_998)
        var runner = ScriptedRunner(
            settings, contactBuffer: 10,
            calendar: CalendarAnchor(moment: Moment.origin + .seconds(1000), date: evening))
        runner.send(.leaseHeld(Epoch(1)))
        var targets = ScriptedRunner.targets(4)
        // A contact of its own zone, where it is still afternoon.
        targets[3].timeZone = "America/New_York"
        runner.send(.contactsArrived(targets, exhausted: true))
        let first = runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        #expect(originated(first) == [AttemptID("a1")], "open: dialed")
        runner.advance(.seconds(2))
        let later = runner.send(.agentsChanged(ScriptedRunner.agents(available: 2)))
        let returned = later.compactMap { if case .returnContact(let target) = $0 { target.attempt } else { nil } }
        #expect(returned == [AttemptID("a2"), AttemptID("a3")], "closed in London: back to the manager")
        #expect(originated(later) == [AttemptID("a4")], "still open in New York")
        #expect(runner.machine.contactsHeldAtDialTime == 2)
    }

    @Test func aPreviewAcceptedAfterTheHoursClosedGivesTheAgentAndTheContactBack() throws {
        var settings = CampaignSettings(status: .enabled, mode: .preview)
        let evening = Date(timeIntervalSince1970: 1_780_343_998)  // 19:59:58 UTC, the campaign's zone
        settings.callingHours = CallingHours(start: LocalTime(hour: 9), end: LocalTime(hour: 20))
        var runner = ScriptedRunner(
            settings, calendar: CalendarAnchor(moment: Moment.origin + .seconds(1000), date: evening))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        let offer = try #require(agentRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))).first)
        runner.advance(.seconds(5))
        let accepted = runner.send(.agentGranted(offer.id, AgentID("ann")))
        #expect(originated(accepted).isEmpty)
        #expect(accepted.contains(.release(offer.id)))
        #expect(accepted.contains(.returnContact(ScriptedRunner.targets(1)[0])))
    }

    @Test func aCallTheTrunkRefusesIsNotAnAttemptAndIsDialedAgainAfterTheBackoff() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, callsPerReadyAgent: 1), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(3), exhausted: true))
        let lines = originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 2))))
        #expect(lines == [AttemptID("a1"), AttemptID("a2")])
        let refused = runner.send(.originateRefused(lines[1]))
        #expect(reports(refused).isEmpty, "never placed: nothing to report")
        #expect(originated(refused).isEmpty)
        #expect(runner.machine.callsRefusedByTrunk == 1)
        runner.advance(.milliseconds(500))
        #expect(originated(runner.send(.tick)).isEmpty, "the carrier is given its second")
        runner.advance(.milliseconds(600))
        #expect(originated(runner.send(.tick)) == [AttemptID("a2")], "the same contact first")
        // A network failure, by contrast, is an attempt that ended.
        let failed = runner.send(.originateFailed(AttemptID("a2")))
        #expect(reports(failed).map(\.outcome) == [.networkFailure])
    }

    @Test func aProgressiveLineTheTrunkRefusesIsPlacedAgainForTheSameAgent() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .progressive, dialRate: 2), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(4), exhausted: true))
        let request = try #require(
            agentRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))).first)
        let lines = originated(runner.send(.agentGranted(request.id, AgentID("ann"))))
        #expect(lines.count == 2)
        for line in lines {
            let actions = runner.send(.originateRefused(line))
            #expect(!actions.contains(.release(request.id)), "the agent stays reserved for the retry")
        }
        runner.advance(.seconds(1))
        #expect(Set(originated(runner.send(.tick))) == Set(lines))
    }
}
