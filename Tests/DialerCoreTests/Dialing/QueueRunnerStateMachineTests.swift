import DialerCore
import Testing

/// A runner driven by scripted events, with the clock moved by hand.
struct ScriptedRunner {
    var machine: QueueRunnerStateMachine
    var now = Moment.origin + .seconds(1000)
    var log: [QueueRunnerAction] = []

    init(_ settings: CampaignSettings, contactBuffer: Int = 4, calendar: CalendarAnchor? = nil) {
        machine = QueueRunnerStateMachine(
            configuration: .init(
                queue: QueueID("sales"), node: MemberID("node-1"), contactBuffer: contactBuffer, calendar: calendar),
            settings: settings, now: Moment.origin + .seconds(1000))
    }

    @discardableResult
    mutating func send(_ event: QueueRunnerEvent) -> [QueueRunnerAction] {
        let actions = machine.handle(event, now: now)
        log += actions
        return actions
    }

    mutating func advance(_ duration: Duration) { now = now + duration }

    /// A predictive runner whose one call was just answered live: the call waits for the
    /// agent the runner asked the gateway for.
    static func answeredAndWaitingForAnAgent() throws -> (ScriptedRunner, AttemptID, AgentRequestDraft) {
        var runner = ScriptedRunner(CampaignSettings(mode: .predictive))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        let attempt = try #require(runner.machine.attemptsInFlight.first)
        let answered = runner.now
        let request = try #require(
            agentRequests(runner.send(.progress(attempt, .answeredLive(at: answered, greetingEndsAt: answered)))).first)
        return (runner, attempt, request)
    }

    static func targets(_ count: Int, from first: Int = 1, callerID: String? = nil) -> [DialTarget] {
        (first..<(first + count)).map {
            DialTarget(
                attempt: AttemptID("a\($0)"), contact: ContactID("c\($0)"), phone: "+4420700000\($0)",
                callerID: callerID)
        }
    }

    static func agents(available: Int, onCall: Int = 0) -> AgentPicture {
        AgentPicture(
            available: Array(repeating: .seconds(10), count: available),
            onCall: Array(repeating: .seconds(30), count: onCall))
    }
}

func originated(_ actions: [QueueRunnerAction]) -> [AttemptID] {
    actions.compactMap { if case .originate(let attempt, _) = $0 { attempt } else { nil } }
}

func agentRequests(_ actions: [QueueRunnerAction]) -> [AgentRequestDraft] {
    actions.compactMap { if case .requestAgent(let draft) = $0 { draft } else { nil } }
}

func reports(_ actions: [QueueRunnerAction]) -> [DialedAttempt] {
    actions.compactMap { if case .report(let attempt) = $0 { attempt } else { nil } }
}

@Suite("Queue runner state machine: scripted calls in every mode")
struct QueueRunnerStateMachineTests {
    @Test func holdingTheLeaseAsksForContactsAndPowerDialsOneLinePerReadyAgent() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, callsPerReadyAgent: 1))
        let first = runner.send(.leaseHeld(Epoch(1)))
        #expect(first.contains { if case .requestContacts = $0 { true } else { false } })
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let actions = runner.send(.agentsChanged(ScriptedRunner.agents(available: 3)))
        #expect(originated(actions).count == 3)
        for case .originate(_, let request) in actions {
            #expect(request.ringTimeout >= .seconds(15))
        }
        // The lines are in flight: a second picture of the same agents dials nothing more.
        #expect(originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 3)))).isEmpty)
    }

    @Test func aLiveAnswerIsConnectedToTheGrantedAgentAndReportedWithItsTimestamps() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        let attempt = AttemptID("a1")
        let dialedAt = runner.now
        runner.advance(.seconds(8))
        let answered = runner.now
        let ask = runner.send(.progress(attempt, .answeredLive(at: answered, greetingEndsAt: answered + .seconds(1))))
        let request = try #require(agentRequests(ask).first)
        #expect(request.kind == .connectAnsweredCall)
        #expect(request.deadline == answered + .seconds(3), "2 s from the end of the greeting")
        runner.advance(.milliseconds(300))
        let connect = runner.send(.agentGranted(request.id, AgentID("ann")))
        #expect(connect == [.bridge(attempt, to: AgentID("ann")), .confirm(request.id, ScriptedRunner.targets(1)[0])])
        let bridgedAt = runner.now
        runner.advance(.seconds(90))
        let end = runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now)))
        #expect(end.contains(.callEnded(request.id)))
        let report = try #require(reports(end).first)
        #expect(report.outcome == .connected)
        #expect(report.agent == AgentID("ann"))
        #expect(report.dialedAt == dialedAt)
        #expect(report.answeredAt == answered)
        #expect(report.bridgedAt == bridgedAt)
        #expect(report.endedAt == runner.now)
    }

    @Test func anAnsweredCallWithNoAgentWithinTwoSecondsIsAbandonedWithTheMessageAndCounted() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        runner.advance(.milliseconds(1900))
        #expect(!runner.send(.tick).contains(.play(attempt, CallMessage(id: "no-agent"))), "still within the grace")
        runner.advance(.milliseconds(100))
        let abandon = runner.send(.tick)
        // The gateway's wait ends at the same deadline: its answer, not a withdrawal, says why.
        #expect(!abandon.contains(.cancel(request.id)))
        #expect(abandon.contains(.play(attempt, CallMessage(id: "no-agent"))))
        // A late grant is given back at once.
        #expect(runner.send(.agentGranted(request.id, AgentID("late"))) == [.release(request.id)])
        #expect(
            runner.send(.progress(attempt, .messageFinished(CallMessage(id: "no-agent"), at: runner.now)))
                == [.hangUp(attempt)])
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.outcome == .abandoned)
        #expect(report.abandonCause == .grantedLate, "an agent came, after the deadline")
        let counts = runner.machine.abandonCounts(at: runner.now)
        #expect(counts.liveAnswers == 1)
        #expect(counts.abandons == 1)
    }

    @Test func theGatewayTimingOutTheRequestAbandonsTheCallToo() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        #expect(runner.send(.agentNotGranted(request.id)) == [.play(attempt, CallMessage(id: "no-agent"))])
    }

    @Test(arguments: [AnsweringMachinePolicy.hangUp, .leaveMessage(message: "promo")])
    func machineAnswersFollowThePolicyAndAreNeverAbandons(policy: AnsweringMachinePolicy) throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, answeringMachine: policy))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        let attempt = try #require(runner.machine.attemptsInFlight.first)
        let actions = runner.send(.progress(attempt, .answeredByMachine(at: runner.now, detectedAt: runner.now)))
        #expect(agentRequests(actions).isEmpty)
        switch policy {
        case .leaveMessage:
            #expect(actions == [.play(attempt, CallMessage(id: "promo"))])
            #expect(
                runner.send(.progress(attempt, .messageFinished(CallMessage(id: "promo"), at: runner.now)))
                    == [.hangUp(attempt)])
        default:
            #expect(actions == [.hangUp(attempt)])
        }
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.outcome == .machine)
        #expect(runner.machine.abandonCounts(at: runner.now).liveAnswers == 0)
    }

    @Test func progressiveWithDialRateThreeDialsThreeLinesForTheReservedAgent() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .progressive, dialRate: 3), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let ask = runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        #expect(originated(ask).isEmpty, "progressive dials only for a reserved agent")
        let reservation = try #require(agentRequests(ask).first)
        #expect(reservation.kind == .outboundReservation)
        #expect(agentRequests(ask).count == 1)

        let lines = originated(runner.send(.agentGranted(reservation.id, AgentID("bob"))))
        #expect(lines.count == 3)
        // The first live answer goes to bob.
        let first = runner.send(.progress(lines[1], .answeredLive(at: runner.now, greetingEndsAt: runner.now)))
        // The agent's call carries the contact and attempt of the line that answered.
        let answeredTarget = try #require(ScriptedRunner.targets(10).first { $0.attempt == lines[1] })
        #expect(first == [.bridge(lines[1], to: AgentID("bob")), .confirm(reservation.id, answeredTarget)])
        // A second live answer needs another agent.
        let second = runner.send(.progress(lines[0], .answeredLive(at: runner.now, greetingEndsAt: runner.now)))
        let extra = try #require(agentRequests(second).first)
        #expect(extra.kind == .connectAnsweredCall)
        // The third line rings out: reported, and bob's reservation stays with his call.
        let third = runner.send(.progress(lines[2], .noAnswer(at: runner.now)))
        #expect(reports(third).map(\.outcome) == [.noAnswer])
        #expect(!third.contains(.release(reservation.id)))
    }

    @Test func progressiveGivesTheAgentBackWhenNoLineIsAnsweredLive() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .progressive, dialRate: 2), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let reservation = try #require(
            agentRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))).first)
        let lines = originated(runner.send(.agentGranted(reservation.id, AgentID("bob"))))
        #expect(lines.count == 2)
        #expect(!runner.send(.progress(lines[0], .busy(at: runner.now))).contains(.release(reservation.id)))
        #expect(runner.send(.progress(lines[1], .noAnswer(at: runner.now))).contains(.release(reservation.id)))
    }

    @Test func aPreviewOfferNobodyTakesGoesBackToBeOfferedAgain() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .preview))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        let offer = try #require(agentRequests(runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))).first)
        #expect(offer.kind == .previewOffer)
        #expect(offer.target?.attempt == AttemptID("a1"))
        // Every agent skipped it, or none answered in time: the gateway says so.
        runner.send(.agentNotGranted(offer.id))
        #expect(runner.machine.contactsInHand == 1)
        let again = try #require(agentRequests(runner.send(.tick)).first)
        #expect(again.target?.attempt == AttemptID("a1"))
        #expect(again.id != offer.id)
        // An agent accepts: the node dials the one contact for that agent.
        let dial = runner.send(.agentGranted(again.id, AgentID("cy")))
        #expect(originated(dial) == [AttemptID("a1")])
    }

    @Test func theFiveSecondCapHoldsBackCallsUntilTheWindowMoves() {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, attemptsPerFiveSeconds: 2), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        #expect(originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 5)))).count == 2)
        runner.advance(.seconds(4))
        #expect(originated(runner.send(.tick)).isEmpty)
        runner.advance(.seconds(1))
        #expect(originated(runner.send(.tick)).count == 2)
    }

    @Test func theContactsOwnCallerIDComesBeforeTheCampaignsNumber() {
        var settings = CampaignSettings(mode: .power)
        settings.callerID = CallerIDSettings(defaultNumber: "+442000000000")
        var runner = ScriptedRunner(settings)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(
            .contactsArrived(
                ScriptedRunner.targets(1, callerID: "+443000000000") + ScriptedRunner.targets(1, from: 2),
                exhausted: true))
        let actions = runner.send(.agentsChanged(ScriptedRunner.agents(available: 2)))
        let callerIDs = actions.compactMap { if case .originate(_, let request) = $0 { request.callerID } else { nil } }
        #expect(callerIDs == ["+443000000000", "+442000000000"])
    }

    @Test func pooledCallerIDsArePresentedLocalFirstThenInTurnUnderTheDailyCap() {
        var settings = CampaignSettings(mode: .power)
        settings.callerID = CallerIDSettings(
            defaultNumber: "+442000000000",
            pool: [
                PooledCallerID(number: "+441110000000", localPrefixes: ["+44207000003"]),
                PooledCallerID(number: "+441110000001"), PooledCallerID(number: "+441110000002"),
            ],
            rotation: .roundRobin, dailyCapPerNumber: 2)
        var runner = ScriptedRunner(settings, contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(7), exhausted: true))
        let actions = runner.send(.agentsChanged(ScriptedRunner.agents(available: 7)))
        let callerIDs = actions.compactMap { if case .originate(_, let request) = $0 { request.callerID } else { nil } }
        // In turn from the first; contact 3 gets its local number; each number twice at most;
        // then the campaign's own.
        #expect(
            callerIDs == [
                "+441110000000", "+441110000001", "+441110000000", "+441110000001", "+441110000002",
                "+441110000002", "+442000000000",
            ])
    }

    @Test func agentlessDialsItsPortsAndPlaysTheCampaignMessage() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .agentless, ivrPorts: 2))
        runner.send(.leaseHeld(Epoch(1)))
        let lines = originated(runner.send(.contactsArrived(ScriptedRunner.targets(5), exhausted: true)))
        #expect(lines.count == 2, "no agents needed: one call per port")
        let answer = runner.send(.progress(lines[0], .answeredLive(at: runner.now, greetingEndsAt: runner.now)))
        #expect(answer == [.play(lines[0], CallMessage(id: "campaign"))])
        runner.send(.progress(lines[0], .messageFinished(CallMessage(id: "campaign"), at: runner.now)))
        let report = try #require(reports(runner.send(.progress(lines[0], .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.outcome == .connected)
    }

    @Test func losingTheLeasePlacesNothingMoreHandsBackContactsAndFinishesAfterTheLastCall() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power), contactBuffer: 10)
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(6), exhausted: false))
        let lines = originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 2))))
        #expect(lines.count == 2)
        let lost = runner.send(.leaseLost)
        let returned = lost.compactMap { if case .returnContact(let target) = $0 { target.attempt } else { nil } }
        #expect(returned.count == 4)
        #expect(Set(returned).isDisjoint(with: lines))
        #expect(originated(runner.send(.agentsChanged(ScriptedRunner.agents(available: 5)))).isEmpty)
        #expect(originated(runner.send(.tick)).isEmpty)
        // Contacts that arrive late go straight back.
        let late = runner.send(.contactsArrived(ScriptedRunner.targets(1, from: 50), exhausted: false))
        #expect(late.contains(.returnContact(ScriptedRunner.targets(1, from: 50)[0])))
        #expect(!runner.send(.progress(lines[0], .busy(at: runner.now))).contains(.finished))
        #expect(runner.send(.progress(lines[1], .busy(at: runner.now))).contains(.finished))
    }

    @Test func aCustomerWhoHangsUpWhileWaitingForAnAgentIsAnAbandon() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        runner.advance(.milliseconds(800))
        let actions = runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now)))
        #expect(actions.contains(.cancel(request.id)))
        #expect(reports(actions).map(\.outcome) == [.abandoned])
    }
}
