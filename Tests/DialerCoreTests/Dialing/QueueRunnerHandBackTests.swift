import DialerCore
import Foundation
import Testing

func returned(_ actions: [QueueRunnerAction]) -> [AttemptID] {
    actions.compactMap { if case .returnContact(let target) = $0 { target.attempt } else { nil } }
}

func contactRequests(_ actions: [QueueRunnerAction]) -> [Int] {
    actions.compactMap { if case .requestContacts(let count) = $0 { count } else { nil } }
}

/// Contacts a runner fetched but has not dialed go back to the manager as soon as its campaign
/// cannot dial (disabled, outside its windows) or its agents are gone, instead of waiting in
/// the buffer until the lease ends.
@Suite("Queue runner state machine: contacts in hand go back when dialing stops")
struct QueueRunnerHandBackTests {
    /// A calendar at noon UTC (hours all day), as a node's runner has one.
    static let noon = CalendarAnchor(
        moment: Moment.origin + .seconds(1000), date: Date(timeIntervalSince1970: 1_780_315_200))

    static func settings(_ mode: DialingMode, status: CampaignStatus = .enabled) -> CampaignSettings {
        var settings = CampaignSettings(status: status, mode: mode, callsPerReadyAgent: 1)
        settings.callingHours = CallingHours(start: LocalTime(hour: 0), end: LocalTime(hour: 24))
        return settings
    }

    @Test func disablingTheCampaignHandsBackTheBufferAtOnceWhileItsCallsGoOn() throws {
        var runner = ScriptedRunner(Self.settings(.power), contactBuffer: 10, calendar: Self.noon)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let dialed = originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1, onCall: 3))))
        #expect(dialed == [AttemptID("a1")])
        #expect(runner.machine.contactsInHand == 9)

        runner.advance(.seconds(1))
        let disabled = runner.send(.settingsChanged(Self.settings(.power, status: .disabled)))
        #expect(returned(disabled) == (2...10).map { AttemptID("a\($0)") }, "every undialed contact, in one step")
        #expect(runner.machine.contactsInHand == 0)
        #expect(runner.machine.attemptsInFlight == [AttemptID("a1")], "the call in progress goes on")

        // Nothing more is asked for while the campaign is disabled, however long it stays so.
        for _ in 0..<10 {
            runner.advance(.seconds(6))
            let tick = runner.send(.tick)
            #expect(contactRequests(tick).isEmpty && originated(tick).isEmpty)
        }
        // The call still ends and is reported.
        let report = reports(runner.send(.progress(AttemptID("a1"), .noAnswer(at: runner.now))))
        #expect(report.map(\.outcome) == [.noAnswer])

        // Enabled again: the runner asks for contacts at its next step.
        runner.send(.settingsChanged(Self.settings(.power)))
        #expect(contactRequests(runner.send(.tick)).count == 1)
    }

    @Test func contactsArrivingForADisabledCampaignGoStraightBack() throws {
        var runner = ScriptedRunner(Self.settings(.predictive), contactBuffer: 10, calendar: Self.noon)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.agentsChanged(ScriptedRunner.agents(available: 0, onCall: 2)))
        // The request crossed the change of settings.
        runner.send(.settingsChanged(Self.settings(.predictive, status: .disabled)))
        let arrived = runner.send(.contactsArrived(ScriptedRunner.targets(5), exhausted: false))
        #expect(Set(returned(arrived)) == Set((1...5).map { AttemptID("a\($0)") }))
        #expect(originated(arrived).isEmpty)
        #expect(runner.machine.contactsInHand == 0)
    }

    @Test func whenTheAgentsLeaveTheBufferAndTheAgentRequestsGoBack() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .progressive, dialRate: 1), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let asked = agentRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 2))))
        #expect(asked.count == 2)
        // One agent was granted and its line is ringing; the other request still waits.
        let lines = originated(runner.send(.agentGranted(asked[0].id, AgentID("ann"))))
        #expect(lines.count == 1)

        // Both log out: the picture shows nobody.
        let gone = runner.send(.agentsChanged(AgentPicture()))
        #expect(returned(gone).count == 9, "every contact not being dialed")
        #expect(gone.contains(.cancel(asked[1].id)), "the waiting request is withdrawn")
        #expect(!gone.contains(.cancel(asked[0].id)) && !gone.contains(.release(asked[0].id)), "ann's line rings on")
        #expect(runner.machine.contactsInHand == 0)
        #expect(runner.machine.attemptsInFlight == Set(lines))
        for _ in 0..<5 {
            runner.advance(.seconds(6))
            #expect(contactRequests(runner.send(.tick)).isEmpty, "no contacts fetched for nobody")
        }
        // Someone logs in again: contacts are fetched again.
        #expect(contactRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))).count == 1)
    }

    @Test func beforeTheFirstPictureContactsAreKept() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .predictive), contactBuffer: 10)
        #expect(contactRequests(runner.send(.leaseHeld(Epoch(1)))).count == 1)
        let arrived = runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        #expect(returned(arrived).isEmpty, "no agents known yet is not no agents")
        #expect(runner.machine.contactsInHand == 10)
    }
}
