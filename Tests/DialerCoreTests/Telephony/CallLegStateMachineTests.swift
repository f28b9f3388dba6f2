import DialerCore
import Testing

private func t(_ seconds: Int64) -> Moment { Moment(nanosecondsSinceOrigin: seconds * 1_000_000_000) }

private let agent = AgentID("agent-1")
private let hold = CallMessage(id: "hold", length: .seconds(30))

/// Applies `events` to a new leg, failing the test at the first one refused.
private func makeLeg(_ direction: CallDirection, after events: [CallProgress]) throws -> CallLegStateMachine {
    var leg = CallLegStateMachine(direction: direction)
    for event in events { try leg.apply(event) }
    return leg
}

@Suite("Call leg state machine")
struct CallLegStateMachineTests {
    @Test func legsStartDialingOrOffered() {
        #expect(CallLegStateMachine(direction: .outbound).state == .dialing)
        #expect(CallLegStateMachine(direction: .inbound).state == .offered)
        #expect(CallLegStateMachine(direction: .outbound).lastMoment == nil)
    }

    @Test func liveAnswerBridgedThenCustomerHangsUp() throws {
        var leg = CallLegStateMachine(direction: .outbound)
        try leg.apply(.ringing(at: t(0)))
        #expect(leg.state == .ringing)
        try leg.apply(.answeredLive(at: t(8), greetingEndsAt: t(9)))
        let answer = CallAnswer.live(answeredAt: t(8), greetingEndsAt: t(9))
        #expect(leg.state == .connected(answer))
        #expect(leg.state.answer == answer)
        try leg.apply(.bridged(to: agent, at: t(10)))
        #expect(leg.state == .bridged(agent, answer))
        try leg.apply(.hungUp(by: .customer, at: t(100)))
        #expect(leg.state == .ended(.hungUp(by: .customer), at: t(100)))
        #expect(leg.isEnded)
        #expect(leg.lastMoment == t(100))
    }

    @Test func machineAnswerWithMessageThenNodeHangsUp() throws {
        var leg = try makeLeg(.outbound, after: [.ringing(at: t(0)), .answeredByMachine(at: t(5), detectedAt: t(7))])
        let answer = CallAnswer.machine(answeredAt: t(5), detectedAt: t(7))
        #expect(leg.state == .connected(answer))
        try leg.apply(.messageStarted(hold, at: t(7)))
        #expect(leg.state == .playing(hold, answer))
        try leg.apply(.messageFinished(hold, at: t(37)))
        #expect(leg.state == .connected(answer))
        try leg.apply(.hungUp(by: .node, at: t(37)))
        #expect(leg.state == .ended(.hungUp(by: .node), at: t(37)))
    }

    @Test(arguments: [
        (CallProgress.busy(at: t(3)), CallEnd.busy),
        (.noAnswer(at: t(3)), .noAnswer),
        (.invalidNumber(at: t(3)), .invalidNumber),
        (.networkFailure(at: t(3)), .networkFailure),
        (.hungUp(by: .node, at: t(3)), .hungUp(by: .node)),
    ])
    func unansweredEndsFromDialingAndRinging(event: CallProgress, end: CallEnd) throws {
        for start in [[], [CallProgress.ringing(at: t(0))]] {
            var leg = try makeLeg(.outbound, after: start)
            try leg.apply(event)
            #expect(leg.state == .ended(end, at: t(3)))
        }
    }

    @Test func answersMayComeWithoutRinging() throws {
        var live = CallLegStateMachine(direction: .outbound)
        try live.apply(.answeredLive(at: t(1), greetingEndsAt: t(2)))
        var machine = CallLegStateMachine(direction: .outbound)
        try machine.apply(.answeredByMachine(at: t(1), detectedAt: t(3)))
        #expect(live.state.answer != nil && machine.state.answer != nil)
    }

    @Test func customerCannotHangUpAnOutboundCallBeforeTheAnswer() throws {
        for start in [[], [CallProgress.ringing(at: t(0))]] {
            var leg = try makeLeg(.outbound, after: start)
            let before = leg
            #expect(throws: CallLegError.unexpectedEvent(.hungUp(by: .customer, at: t(5)), state: leg.state)) {
                try leg.apply(.hungUp(by: .customer, at: t(5)))
            }
            #expect(leg == before, "a refused event leaves the leg as it was")
        }
    }

    @Test func refusedEventsAfterTheAnswer() throws {
        let connected = try makeLeg(
            .outbound, after: [.ringing(at: t(0)), .answeredLive(at: t(5), greetingEndsAt: t(6))])
        let refused: [CallProgress] = [
            .ringing(at: t(7)), .answeredLive(at: t(7), greetingEndsAt: t(8)),
            .answeredByMachine(at: t(7), detectedAt: t(8)), .busy(at: t(7)), .noAnswer(at: t(7)),
            .invalidNumber(at: t(7)), .accepted(at: t(7)), .messageFinished(hold, at: t(7)),
        ]
        for event in refused {
            var leg = connected
            #expect(!leg.allows(event), "\(event)")
            #expect(throws: CallLegError.self) { try leg.apply(event) }
        }
    }

    @Test func ringingOnlyOnceAndOnlyOutbound() throws {
        var ringing = try makeLeg(.outbound, after: [.ringing(at: t(0))])
        #expect(throws: CallLegError.self) { try ringing.apply(.ringing(at: t(1))) }
        var inbound = CallLegStateMachine(direction: .inbound)
        #expect(throws: CallLegError.self) { try inbound.apply(.ringing(at: t(1))) }
        #expect(throws: CallLegError.self) { try inbound.apply(.answeredLive(at: t(1), greetingEndsAt: t(2))) }
    }

    @Test func nothingFollowsTheEnd() throws {
        let ended = try makeLeg(.outbound, after: [.busy(at: t(2))])
        let events: [CallProgress] = [
            .ringing(at: t(3)), .busy(at: t(3)), .networkFailure(at: t(3)), .hungUp(by: .node, at: t(3)),
            .hungUp(by: .customer, at: t(3)), .bridged(to: agent, at: t(3)),
        ]
        for event in events {
            var leg = ended
            #expect(throws: CallLegError.unexpectedEvent(event, state: .ended(.busy, at: t(2)))) {
                try leg.apply(event)
            }
        }
    }

    @Test func momentsNeverGoBackwards() throws {
        var leg = try makeLeg(.outbound, after: [.ringing(at: t(10))])
        #expect(throws: CallLegError.momentWentBackwards(.busy(at: t(9)), previous: t(10))) {
            try leg.apply(.busy(at: t(9)))
        }
        #expect(!leg.allows(.busy(at: t(9))))
        try leg.apply(.busy(at: t(10)))  // the same moment is fine
    }

    @Test func messagesReplaceEachOtherAndOnlyThePlayingOneFinishes() throws {
        let other = CallMessage(id: "other")
        var leg = try makeLeg(
            .outbound, after: [.answeredLive(at: t(1), greetingEndsAt: t(2)), .messageStarted(hold, at: t(3))])
        try leg.apply(.messageStarted(other, at: t(4)))
        #expect(throws: CallLegError.self) { try leg.apply(.messageFinished(hold, at: t(5))) }
        try leg.apply(.messageFinished(other, at: t(5)))
        #expect(leg.state == .connected(.live(answeredAt: t(1), greetingEndsAt: t(2))))
    }

    @Test func bridgeStopsAMessageAndCustomerMayHangUpWhileHeld() throws {
        let playing = try makeLeg(
            .outbound, after: [.answeredLive(at: t(1), greetingEndsAt: t(2)), .messageStarted(hold, at: t(3))])
        var bridged = playing
        try bridged.apply(.bridged(to: agent, at: t(4)))
        #expect(bridged.state == .bridged(agent, .live(answeredAt: t(1), greetingEndsAt: t(2))))
        #expect(throws: CallLegError.self) { try bridged.apply(.messageFinished(hold, at: t(5))) }
        #expect(throws: CallLegError.self) { try bridged.apply(.bridged(to: agent, at: t(5))) }
        var abandoned = playing
        try abandoned.apply(.hungUp(by: .customer, at: t(9)))
        #expect(abandoned.state == .ended(.hungUp(by: .customer), at: t(9)))
    }

    @Test func networkFailureEndsALegInAnyLiveState() throws {
        let starts: [(CallDirection, [CallProgress])] = [
            (.outbound, []), (.outbound, [.ringing(at: t(0))]), (.inbound, []),
            (.outbound, [.answeredLive(at: t(0), greetingEndsAt: t(1))]),
            (.outbound, [.answeredLive(at: t(0), greetingEndsAt: t(1)), .messageStarted(hold, at: t(1))]),
            (.outbound, [.answeredLive(at: t(0), greetingEndsAt: t(1)), .bridged(to: agent, at: t(1))]),
        ]
        for (direction, events) in starts {
            var leg = try makeLeg(direction, after: events)
            try leg.apply(.networkFailure(at: t(5)))
            #expect(leg.state == .ended(.networkFailure, at: t(5)))
        }
    }

    @Test func inboundAcceptedBridgedAndHungUp() throws {
        var leg = CallLegStateMachine(direction: .inbound)
        try leg.check(.accept)
        #expect(throws: CallLegError.operationNotAllowed(.bridge(agent), state: .offered)) {
            try leg.check(.bridge(agent))
        }
        try leg.apply(.accepted(at: t(1)))
        #expect(leg.state == .connected(.inbound(acceptedAt: t(1))))
        #expect(throws: CallLegError.self) { try leg.apply(.accepted(at: t(2))) }
        try leg.apply(.messageStarted(.noAgent, at: t(1)))
        try leg.apply(.bridged(to: agent, at: t(20)))
        try leg.apply(.hungUp(by: .node, at: t(80)))
        #expect(leg.state == .ended(.hungUp(by: .node), at: t(80)))
    }

    @Test func inboundCallerMayGiveUpBeforeTheAnswer() throws {
        var leg = CallLegStateMachine(direction: .inbound)
        try leg.apply(.hungUp(by: .customer, at: t(30)))
        #expect(leg.state == .ended(.hungUp(by: .customer), at: t(30)))
    }

    @Test func operationsAllowedByState() throws {
        let answered: [CallProgress] = [.answeredLive(at: t(0), greetingEndsAt: t(1))]
        let cases: [(String, CallDirection, [CallProgress], Set<String>)] = [
            ("dialing", .outbound, [], ["hangUp"]),
            ("ringing", .outbound, [.ringing(at: t(0))], ["hangUp"]),
            ("offered", .inbound, [], ["accept", "hangUp"]),
            ("connected", .outbound, answered, ["bridge", "play", "hangUp"]),
            ("playing", .outbound, answered + [.messageStarted(hold, at: t(1))], ["bridge", "play", "hangUp"]),
            ("bridged", .outbound, answered + [.bridged(to: agent, at: t(1))], ["hangUp"]),
            ("ended", .outbound, answered + [.hungUp(by: .customer, at: t(2))], []),
        ]
        let operations: [(String, CallOperation)] = [
            ("accept", .accept), ("bridge", .bridge(agent)), ("play", .play(hold)), ("hangUp", .hangUp),
        ]
        for (name, direction, events, allowed) in cases {
            let leg = try makeLeg(direction, after: events)
            for (operationName, operation) in operations {
                let isAllowed = (try? leg.check(operation)) != nil
                #expect(isAllowed == allowed.contains(operationName), "\(operationName) in \(name)")
            }
        }
    }

    @Test func progressMomentsAndFinality() {
        let finals: [CallProgress] = [
            .busy(at: t(1)), .noAnswer(at: t(1)), .invalidNumber(at: t(1)), .networkFailure(at: t(1)),
            .hungUp(by: .customer, at: t(1)),
        ]
        let others: [CallProgress] = [
            .ringing(at: t(1)), .answeredLive(at: t(1), greetingEndsAt: t(2)),
            .answeredByMachine(at: t(1), detectedAt: t(3)), .accepted(at: t(1)), .bridged(to: agent, at: t(1)),
            .messageStarted(hold, at: t(1)), .messageFinished(hold, at: t(1)),
        ]
        for event in finals + others { #expect(event.moment == t(1)) }
        #expect(finals.allSatisfy { $0.isFinal })
        #expect(!others.contains { $0.isFinal })
    }

    @Test func errorsDescribeThemselvesWithoutNumbers() {
        let error = TrunkError.operationNotAllowed(CallID("out-1"), .bridge(agent), state: .ringing)
        #expect(error.description.contains("out-1"))
        #expect(TrunkError.channelCapacityExhausted(channels: 30).description.contains("30"))
        #expect(TrunkError.callsPerSecondExceeded(limit: 5).description.contains("5"))
        #expect(TrunkError.unknownCall(CallID("x")).description.contains("x"))
    }
}
