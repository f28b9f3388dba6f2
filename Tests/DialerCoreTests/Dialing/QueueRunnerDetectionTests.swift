import Testing

@testable import DialerCore

/// Answering-machine detection and the 2-second rule: the runner secures an agent while the
/// detector listens, hands it back on a machine, and gives every abandon its cause.
@Suite("Queue runner: detection, early agents and abandon causes")
struct QueueRunnerDetectionTests {
    /// A power runner (detection on: machines are hung up) whose one call was just placed.
    static func dialedOneCall() throws -> (ScriptedRunner, AttemptID, OriginateRequest) {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, answeringMachine: .hangUp))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(1), exhausted: true))
        let dial = runner.send(.agentsChanged(ScriptedRunner.agents(available: 1)))
        let (attempt, request) = try #require(
            dial.compactMap { if case .originate(let a, let r) = $0 { (a, r) } else { nil } }.first)
        return (runner, attempt, request)
    }

    @Test func theDetectorIsToldToDecideWithinTheGraceLessTheConnectAllowance() throws {
        let (_, _, request) = try Self.dialedOneCall()
        #expect(request.detectsMachines)
        #expect(request.detectionLimit == .seconds(1), "2 s grace less the 1 s allowance")
    }

    @Test func anAgentAskedForAtTheAnswerIsConnectedTheMomentTheVerdictSaysLive() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        runner.advance(.seconds(6))
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        #expect(ask.kind == .connectAnsweredCall)
        #expect(ask.target?.attempt == attempt, "the agent's desktop shows the contact")
        #expect(runner.machine.callsByStage["classifying"] == 1)
        runner.advance(.milliseconds(400))
        // Granted while the detector still listens: held, not yet bridged or confirmed.
        #expect(runner.send(.agentGranted(ask.id, AgentID("ann"))).isEmpty)
        runner.advance(.milliseconds(2000))
        let verdict = runner.send(
            .progress(attempt, .answeredLive(at: answeredAt, greetingEndsAt: answeredAt + .seconds(1))))
        #expect(verdict == [.bridge(attempt, to: AgentID("ann")), .confirm(ask.id, ScriptedRunner.targets(1)[0])])
        runner.advance(.seconds(60))
        let report = try #require(
            reports(runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now)))).first)
        #expect(report.outcome == .connected)
        #expect(report.abandonCause == nil)
    }

    @Test func aMachineVerdictGivesTheHeldAgentBackAndIsNoAbandon() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        let answeredAt = runner.now + .seconds(5)
        runner.advance(.seconds(5))
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.send(.agentGranted(ask.id, AgentID("ann")))
        runner.advance(.seconds(2))
        let verdict = runner.send(.progress(attempt, .answeredByMachine(at: answeredAt, detectedAt: runner.now)))
        #expect(verdict.contains(.release(ask.id)), "released: the gateway keeps the agent's place in line")
        #expect(verdict.contains(.hangUp(attempt)))
        #expect(!verdict.contains { if case .confirm = $0 { true } else { false } })
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.outcome == .machine)
        #expect(runner.machine.abandonCounts(at: runner.now).abandons == 0)
    }

    @Test func aMachineVerdictWithdrawsARequestNotYetGranted() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.advance(.seconds(2))
        let verdict = runner.send(.progress(attempt, .answeredByMachine(at: answeredAt, detectedAt: runner.now)))
        #expect(verdict.contains(.cancel(ask.id)))
        // The gateway's answer to the withdrawn request changes nothing.
        #expect(runner.send(.agentNotGranted(ask.id)).isEmpty)
    }

    @Test func aLiveVerdictWithTheEarlyRequestStillPendingWaitsOnlyUntilTheRegulatedDeadline() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.advance(.milliseconds(2500))
        let greetingEnd = answeredAt + .seconds(1)
        // No new request: the early one goes on, now with the deadline of the 2-second rule.
        #expect(
            agentRequests(runner.send(.progress(attempt, .answeredLive(at: answeredAt, greetingEndsAt: greetingEnd))))
                .isEmpty)
        runner.advance(.milliseconds(400))
        #expect(runner.send(.tick).isEmpty, "deadline is greeting end + 2 s = 3 s after the answer")
        runner.advance(.milliseconds(200))
        let abandon = runner.send(.tick)
        #expect(abandon.contains(.cancel(ask.id)))
        #expect(abandon.contains(.play(attempt, .noAgent)))
        // The grant was already on its way: the abandon was the gateway's lateness, not overdial.
        #expect(runner.send(.agentGranted(ask.id, AgentID("late"))) == [.release(ask.id)])
        runner.send(.progress(attempt, .messageFinished(.noAgent, at: runner.now)))
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.outcome == .abandoned)
        #expect(report.abandonCause == .grantedLate)
    }

    @Test func aLiveVerdictAfterTheDeadlineIsAbandonedAsClassifiedLate() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.send(.agentGranted(ask.id, AgentID("ann")))
        runner.advance(.seconds(4))
        let verdict = runner.send(
            .progress(attempt, .answeredLive(at: answeredAt, greetingEndsAt: answeredAt + .seconds(1))))
        #expect(verdict.contains(.release(ask.id)))
        #expect(verdict.contains(.play(attempt, .noAgent)))
        runner.send(.progress(attempt, .messageFinished(.noAgent, at: runner.now)))
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.abandonCause == .classifiedLate)
        #expect(runner.machine.abandonsByCause == [.classifiedLate: 1])
    }

    @Test(arguments: [
        (AgentRefusal.noAgentFree, AbandonCause.noAgentFree), (.refused, .gatewayUnavailable),
        (.unreachable, .gatewayUnavailable),
    ])
    func aRequestAnsweredWithoutAnAgentNamesWhy(refusal: AgentRefusal, cause: AbandonCause) throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        runner.send(.agentNotGranted(request.id, because: refusal))
        runner.send(.progress(attempt, .messageFinished(.noAgent, at: runner.now)))
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.abandonCause == cause)
    }

    @Test func theGatewayFindingNoAgentByTheDeadlineMakesTheAbandonOverdial() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        runner.advance(.seconds(2))
        #expect(runner.send(.tick).contains(.play(attempt, .noAgent)))
        // The gateway's own wait ended at the deadline with no agent free.
        runner.send(.agentNotGranted(request.id, because: .noAgentFree))
        runner.send(.progress(attempt, .messageFinished(.noAgent, at: runner.now)))
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.abandonCause == .noAgentFree)
    }

    @Test func anEarlyRequestStillWaitingWhenWithdrawnAtTheDeadlineIsOverdial() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.advance(.seconds(1))
        runner.send(.progress(attempt, .answeredLive(at: answeredAt, greetingEndsAt: answeredAt + .seconds(1))))
        runner.advance(.seconds(2))
        #expect(runner.send(.tick).contains(.cancel(ask.id)))
        // The gateway answers the withdrawal: the request was still waiting, nobody was free.
        runner.send(.agentNotGranted(ask.id, because: .refused))
        runner.send(.progress(attempt, .messageFinished(.noAgent, at: runner.now)))
        let report = try #require(reports(runner.send(.progress(attempt, .hungUp(by: .node, at: runner.now)))).first)
        #expect(report.abandonCause == .noAgentFree)
    }

    @Test func aDrainedQueueStillGivesAgentsToTheCallsAnsweredAfterIt() throws {
        var (runner, attempt, _) = try Self.dialedOneCall()
        runner.send(.drain)
        let answeredAt = runner.now
        let ask = try #require(agentRequests(runner.send(.progress(attempt, .answered(at: answeredAt)))).first)
        runner.send(.agentGranted(ask.id, AgentID("ann")))
        let verdict = runner.send(
            .progress(attempt, .answeredLive(at: answeredAt, greetingEndsAt: answeredAt + .seconds(1))))
        #expect(verdict.contains(.bridge(attempt, to: AgentID("ann"))))
        // A lost lease, though, asks for nothing.
        var (lost, lostAttempt, _) = try Self.dialedOneCall()
        lost.send(.leaseLost)
        let lostAnswer = lost.now
        #expect(agentRequests(lost.send(.progress(lostAttempt, .answered(at: lostAnswer)))).isEmpty)
        let abandon = lost.send(
            .progress(lostAttempt, .answeredLive(at: lostAnswer, greetingEndsAt: lostAnswer + .seconds(1))))
        #expect(abandon.contains(.play(lostAttempt, .noAgent)))
    }

    @Test func quickSignalsDoNotMakeTheAnswerRateLookLowBeforeTheAnswersCome() throws {
        var measured = MeasuredCalls()
        let start = Moment.origin + .seconds(1000)
        // 100 calls dialed at once: 20 busy signals at 3 s, then 30 answers at 9 s, 50 no-answers at 25 s.
        for _ in 0..<20 { measured.recordUnanswered(dialedAt: start) }
        let early = measured.statistics(
            window: AbandonCounts(window: .seconds(86_400)), now: start + .seconds(4), maturity: .seconds(30))
        #expect(early.attempts == 0, "nothing counts before it could have been answered")
        // Answers that come before their cohort is old enough do not end the warm-up either.
        for _ in 0..<25 { measured.recordAnswer(after: .seconds(2), live: true, dialedAt: start + .seconds(2)) }
        let answered = measured.statistics(
            window: AbandonCounts(window: .seconds(86_400)), now: start + .seconds(5), maturity: .seconds(30))
        #expect(answered.liveAnswers == 0 && answered.attempts == 0, "the sample is still empty")
        for _ in 0..<30 { measured.recordAnswer(after: .seconds(9), live: true, dialedAt: start) }
        for _ in 0..<50 { measured.recordUnanswered(dialedAt: start) }
        let later = measured.statistics(
            window: AbandonCounts(window: .seconds(86_400)), now: start + .seconds(30), maturity: .seconds(30))
        #expect(later.attempts == 100, "the cohort dialed at the start; the 25 dialed 2 s later are not yet counted")
        #expect(later.answerRate == 0.3)
        #expect(later.liveAnswers == 30)
    }

    @Test func aCustomerWhoHangsUpWhileWaitingIsAnAbandonOfTheirOwn() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        runner.advance(.milliseconds(800))
        let end = runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now)))
        #expect(end.contains(.cancel(request.id)))
        #expect(try #require(reports(end).first).abandonCause == .customerHungUp)
    }

    @Test func agentsAlreadyGrantedToTheRunnerAreNotPacedForAgain() throws {
        var runner = ScriptedRunner(CampaignSettings(mode: .power, callsPerReadyAgent: 1))
        runner.send(.leaseHeld(Epoch(1)))
        runner.send(.contactsArrived(ScriptedRunner.targets(10), exhausted: false))
        let ann = AgentID("ann")
        let bob = AgentID("bob")
        let picture = AgentPicture(available: [.seconds(5), .seconds(4)], availableAgents: [ann, bob])
        let first = originated(runner.send(.agentsChanged(picture)))
        #expect(first.count == 2)
        // Ann takes a live answer; a picture sent before her grant still shows her available.
        let answered = runner.now
        let ask = try #require(
            agentRequests(
                runner.send(.progress(first[0], .answeredLive(at: answered, greetingEndsAt: answered)))
            ).first)
        runner.send(.agentGranted(ask.id, ann))
        runner.send(.progress(first[1], .noAnswer(at: runner.now)))
        // One line was freed (Bob's); Ann is held by the runner, so only one new call goes out.
        #expect(originated(runner.send(.agentsChanged(picture))).count == 1)
    }

    @Test func wrapUpIsMeasuredFromTheAgentsReturn() throws {
        var (runner, attempt, request) = try ScriptedRunner.answeredAndWaitingForAnAgent()
        let ann = AgentID("ann")
        runner.send(.agentGranted(request.id, ann))
        runner.advance(.seconds(60))
        runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now)))
        runner.advance(.seconds(30))
        // Available for 5 s at the picture: 25 s of wrap-up.
        runner.send(.agentsChanged(AgentPicture(available: [.seconds(5)], availableAgents: [ann])))
        let pacing = try #require(runner.machine.lastPacingDecision)
        _ = pacing
        #expect(runner.machine.measuredWrapUp?.mean == .seconds(25))
    }
}
