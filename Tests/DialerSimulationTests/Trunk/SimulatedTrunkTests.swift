import DialerCore
import DialerSimulation
import Testing

private let agent = AgentID("agent-1")
private let number = "+4512345678"
private let callerID = "+4570000000"

// The fixed population: ring 5 s, signal 2 s, greeting 1 s, detection 3 s, talk 60 s,
// patience 10 s, the "hold" message 20 s and any other 7 s.

@Suite("Simulated trunk: calls")
struct SimulatedTrunkTests {
    /// Places one call at the current moment.
    private func dial(
        _ h: TrunkHarness, _ number: String = number, ringTimeout: Duration = .seconds(30), detectsMachines: Bool = true
    ) async throws -> OutboundCall {
        try await h.trunk.originate(
            number: number, callerID: callerID, ringTimeout: ringTimeout, detectsMachines: detectsMachines)
    }

    @Test func liveAnswerReportedAfterDetectionThenBridgedAndCustomerHangsUpAfterTalk() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await dial(h)
        #expect(call.originatedAt == .origin)
        try await h.run(until: atSecond(200)) { observation in
            if case .progress(let id, .answeredLive) = observation {
                #expect(h.now == atSecond(8), "reported once detection is done")
                try await h.trunk.bridge(id, to: agent)
            }
        }
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .bridged(to: agent, at: atSecond(8)),
                .hungUp(by: .customer, at: atSecond(68)),
            ])
        #expect(await h.trunk.statistics.activeCalls == 0)
    }

    @Test func liveCustomerLeftWaitingHangsUpAfterPatience() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await dial(h)
        try await h.run(until: atSecond(200))
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .hungUp(by: .customer, at: atSecond(16)),  // greeting end + patience
            ])
    }

    @Test func customerWhoGaveUpDuringDetectionHangsUpWhenTheAnswerIsReported() async throws {
        var population = fixedPopulation(.init(live: 1))
        population.patienceSeconds = .fixed(seconds: 0.5)
        let h = try await TrunkHarness(population)
        let call = try await dial(h)
        try await h.run(until: atSecond(200))
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .hungUp(by: .customer, at: atSecond(8)),
            ])
    }

    @Test func machineIsDetectedAndNeverHangsUp() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1)))
        let call = try await dial(h)
        try await h.run(until: atSecond(1000))
        #expect(await h.trunk.statistics.activeCalls == 1)
        try await h.trunk.hangUp(call.id)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredByMachine(at: atSecond(5), detectedAt: atSecond(8)),
                .hungUp(by: .node, at: atSecond(1000)),
            ])
    }

    @Test func aLiveAnswerNotClassifiedByTheDetectionLimitIsReportedLiveAtTheLimit() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await h.trunk.originate(
            OriginateRequest(
                number: number, callerID: callerID, ringTimeout: .seconds(30), detectsMachines: true,
                detectionLimit: .milliseconds(500)))
        var reportedAt: Moment?
        try await h.run(until: atSecond(100)) { observation in
            if case .progress(_, .answeredLive) = observation { reportedAt = h.now }
        }
        #expect(reportedAt == atSecond(6.5), "the detection limit, 0.5 s after the greeting's end")
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                // Detection would take 3 s; the greeting ends at 6 s and the limit is 0.5 s after it.
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .hungUp(by: .customer, at: atSecond(16)),
            ])
    }

    @Test func aMachinesLongGreetingLeavesTheDetectorTimeWithinTheLimit() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1)))
        let call = try await h.trunk.originate(
            OriginateRequest(
                number: number, callerID: callerID, ringTimeout: .seconds(30), detectsMachines: true,
                detectionLimit: .milliseconds(500)))
        try await h.run(until: atSecond(100))
        try await h.trunk.hangUp(call.id)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredByMachine(at: atSecond(5), detectedAt: atSecond(8)),
                .hungUp(by: .node, at: atSecond(100)),
            ])
    }

    @Test func withoutDetectionEveryAnswerIsLiveAndReportedAtOnce() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1)))
        let call = try await dial(h, detectsMachines: false)
        try await h.run(until: atSecond(100)) { observation in
            if case .progress(_, .answeredLive) = observation { #expect(h.now == atSecond(5)) }
        }
        try await h.trunk.hangUp(call.id)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(17)),
                .hungUp(by: .node, at: atSecond(100)),
            ])
    }

    @Test func falsePositiveReportsAPersonAsAMachineWhoStillHangsUpAfterPatience() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1), falsePositiveRate: 1))
        let call = try await dial(h)
        try await h.run(until: atSecond(100))
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredByMachine(at: atSecond(5), detectedAt: atSecond(8)),
                .hungUp(by: .customer, at: atSecond(16)),
            ])
    }

    @Test func falseNegativeReportsAMachineAsLiveAndItNeverHangsUpEvenBridged() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1), falseNegativeRate: 1))
        let call = try await dial(h)
        try await h.run(until: atSecond(1000)) { observation in
            if case .progress(let id, .answeredLive) = observation { try await h.trunk.bridge(id, to: agent) }
        }
        try await h.trunk.hangUp(call.id)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(17)),
                .bridged(to: agent, at: atSecond(8)),
                .hungUp(by: .node, at: atSecond(1000)),
            ])
    }

    @Test func noAnswerRingsUntilTheTimeout() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(noAnswer: 1)))
        let call = try await dial(h, ringTimeout: .seconds(25))
        try await h.run(until: atSecond(100))
        #expect(await TrunkHarness.collect(call.progress) == [.ringing(at: atSecond(0)), .noAnswer(at: atSecond(25))])
    }

    @Test(arguments: [SimulatedTrunk.Outcome.live, .machine])
    func ringTimeoutBelowTheRingTimeGivesNoAnswer(outcome: SimulatedTrunk.Outcome) async throws {
        var outcomes = SimulatedTrunk.Population.Outcomes()
        outcomes.live = outcome == .live ? 1 : 0
        outcomes.machine = outcome == .machine ? 1 : 0
        let h = try await TrunkHarness(fixedPopulation(outcomes))
        let call = try await dial(h, ringTimeout: .seconds(4))  // the answer would come at 5 s
        try await h.run(until: atSecond(100))
        #expect(await TrunkHarness.collect(call.progress) == [.ringing(at: atSecond(0)), .noAnswer(at: atSecond(4))])
    }

    @Test(arguments: [
        (SimulatedTrunk.Population.Outcomes(busy: 1), CallProgress.busy(at: atSecond(2))),
        (.init(invalid: 1), .invalidNumber(at: atSecond(2))),
        (.init(failed: 1), .networkFailure(at: atSecond(2))),
    ])
    func signalledOutcomesComeAfterTheSignalTimeWithoutRinging(
        outcomes: SimulatedTrunk.Population.Outcomes, event: CallProgress
    ) async throws {
        let h = try await TrunkHarness(fixedPopulation(outcomes))
        let call = try await dial(h)
        try await h.run(until: atSecond(100))
        #expect(await TrunkHarness.collect(call.progress) == [event])
        #expect(await h.trunk.statistics.activeCalls == 0)
    }

    @Test func signalLaterThanTheRingTimeoutComesAtTheTimeout() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(busy: 1)))
        let call = try await dial(h, ringTimeout: .seconds(1))
        try await h.run(until: atSecond(100))
        #expect(await TrunkHarness.collect(call.progress) == [.busy(at: atSecond(1))])
    }

    @Test func aNumberThatIsNotE164IsInvalid() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        var calls: [OutboundCall] = []
        for bad in ["12345678", "+0123", "+45 1234", "+", "+1234567890123456"] { calls.append(try await dial(h, bad)) }
        try await h.run(until: atSecond(100))
        for call in calls {
            #expect(await TrunkHarness.collect(call.progress) == [.invalidNumber(at: atSecond(2))], "\(call.number)")
        }
    }

    @Test func messagePlaysToItsEndThenTheWaitingCustomerHangsUp() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await dial(h)
        try await h.run(until: atSecond(100)) { observation in
            if case .progress(let id, .answeredLive) = observation { try await h.trunk.play(.noAgent, on: id) }
        }
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .messageStarted(.noAgent, at: atSecond(8)),
                .messageFinished(.noAgent, at: atSecond(15)),  // the default length, 7 s
                .hungUp(by: .customer, at: atSecond(16)),
            ])
    }

    @Test func messageLengthsComeFromTheRequestThenThePopulation() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1)))
        let call = try await dial(h)
        let short = CallMessage(id: "hold", length: .seconds(2))
        let hold = CallMessage(id: "hold")
        try await h.run(until: atSecond(100)) { observation in
            switch observation {
            case .progress(let id, .answeredByMachine): try await h.trunk.play(short, on: id)
            case .progress(let id, .messageFinished(short, _)): try await h.trunk.play(hold, on: id)
            default: break
            }
        }
        try await h.trunk.hangUp(call.id)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredByMachine(at: atSecond(5), detectedAt: atSecond(8)),
                .messageStarted(short, at: atSecond(8)),
                .messageFinished(short, at: atSecond(10)),
                .messageStarted(hold, at: atSecond(10)),
                .messageFinished(hold, at: atSecond(30)),  // "hold" is 20 s in the population
                .hungUp(by: .node, at: atSecond(100)),
            ])
    }

    @Test func customerHangsUpDuringALongMessageAndBridgeStopsAMessage() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let hold = CallMessage(id: "hold")
        let abandoned = try await dial(h, "+4511111111")
        let rescued = try await dial(h, "+4522222222")
        try await h.run(until: atSecond(9)) { observation in
            if case .progress(let id, .answeredLive) = observation { try await h.trunk.play(hold, on: id) }
        }
        try await h.trunk.bridge(rescued.id, to: agent)
        try await h.run(until: atSecond(200))
        #expect(
            await TrunkHarness.collect(abandoned.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .messageStarted(hold, at: atSecond(8)),
                .hungUp(by: .customer, at: atSecond(16)),
            ])
        #expect(
            await TrunkHarness.collect(rescued.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredLive(at: atSecond(5), greetingEndsAt: atSecond(6)),
                .messageStarted(hold, at: atSecond(8)),
                .bridged(to: agent, at: atSecond(9)),
                .hungUp(by: .customer, at: atSecond(69)),
            ])
    }

    @Test func nodeHangsUpWhileRingingAndNothingFollows() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await dial(h)
        await h.advance(to: atSecond(2))
        try await h.trunk.hangUp(call.id)
        try await h.run(until: atSecond(100))
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)), .hungUp(by: .node, at: atSecond(2)),
            ])
        await #expect(throws: TrunkError.unknownCall(call.id)) { try await h.trunk.hangUp(call.id) }
    }

    @Test func operationsTheStateDoesNotAllowAreRefused() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(live: 1)))
        let call = try await dial(h)
        await #expect(throws: TrunkError.operationNotAllowed(call.id, .bridge(agent), state: .ringing)) {
            try await h.trunk.bridge(call.id, to: agent)
        }
        await #expect(throws: TrunkError.operationNotAllowed(call.id, .play(.noAgent), state: .ringing)) {
            try await h.trunk.play(.noAgent, on: call.id)
        }
        await #expect(throws: TrunkError.operationNotAllowed(call.id, .accept, state: .ringing)) {
            try await h.trunk.accept(call.id)
        }
        await #expect(throws: TrunkError.unknownCall(CallID("nope"))) {
            try await h.trunk.bridge(CallID("nope"), to: agent)
        }
        try await h.run(until: atSecond(8))
        try await h.trunk.bridge(call.id, to: agent)
        let bridged = CallLegState.bridged(agent, .live(answeredAt: atSecond(5), greetingEndsAt: atSecond(6)))
        await #expect(throws: TrunkError.operationNotAllowed(call.id, .bridge(agent), state: bridged)) {
            try await h.trunk.bridge(call.id, to: agent)
        }
        try await h.run(until: atSecond(100))
        await #expect(throws: TrunkError.unknownCall(call.id), "an ended call is forgotten") {
            try await h.trunk.hangUp(call.id)
        }
    }

    @Test func channelCapacityRefusesCallsUntilOneEnds() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(noAnswer: 1), channels: 3))
        var calls: [OutboundCall] = []
        for index in 0..<3 { calls.append(try await dial(h, "+451000000\(index)")) }
        await #expect(throws: TrunkError.channelCapacityExhausted(channels: 3)) { try await dial(h, "+4510000009") }
        await h.advance(to: atSecond(10))
        try await h.trunk.hangUp(calls[0].id)
        _ = try await dial(h, "+4510000009")
        await #expect(throws: TrunkError.channelCapacityExhausted(channels: 3)) { try await dial(h, "+4510000010") }
        let statistics = await h.trunk.statistics
        #expect(statistics.refusedForCapacity == 2)
        #expect(statistics.peakActiveCalls == 3)
        #expect(statistics.originated == 4)
        let refusals = h.log.all.filter {
            if case .refused(_, .channelCapacityExhausted, _) = $0 { return true }
            return false
        }
        #expect(refusals.count == 2)
    }

    @Test func callsPerSecondCapRefusesTheExcessWithinAnySecond() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(busy: 1), callsPerSecond: 2))
        _ = try await dial(h, "+4510000001")
        _ = try await dial(h, "+4510000002")
        await #expect(throws: TrunkError.callsPerSecondExceeded(limit: 2)) { try await dial(h, "+4510000003") }
        await h.advance(to: atSecond(0.999))
        await #expect(throws: TrunkError.callsPerSecondExceeded(limit: 2)) { try await dial(h, "+4510000003") }
        await h.advance(to: atSecond(1))
        _ = try await dial(h, "+4510000003")
        await h.advance(to: atSecond(1.5))
        _ = try await dial(h, "+4510000004")
        await #expect(throws: TrunkError.callsPerSecondExceeded(limit: 2)) { try await dial(h, "+4510000005") }
        #expect(await h.trunk.statistics.refusedForRate == 3)
    }

    @Test func inboundCallsAreOfferedAcceptedBridgedAndAbandoned() async throws {
        var population = fixedPopulation(.init(busy: 1))
        population.inbound = [
            .init(
                did: "+4570000001", callsPerHour: 3600, fromNumbers: ["+4511111111"], talkSeconds: .fixed(seconds: 30))
        ]
        let h = try await TrunkHarness(population)
        var offers = h.trunk.inboundCalls.makeAsyncIterator()
        var arrivals: [Moment] = []
        try await h.run(until: atSecond(60)) { observation in
            if case .arrived(_, let did, let moment, _) = observation {
                #expect(did == "+4570000001")
                arrivals.append(moment)
            }
        }
        #expect(arrivals.count >= 2)
        let first = try #require(await offers.next())
        let second = try #require(await offers.next())
        #expect(first.from == "+4511111111" && first.did == "+4570000001" && first.arrivedAt == arrivals[0])
        #expect(second.arrivedAt == arrivals[1])

        // The first caller's patience (10 s from arrival) has passed: they hung up unanswered.
        #expect(await TrunkHarness.collect(first.progress) == [.hungUp(by: .customer, at: arrivals[0] + .seconds(10))])

        // A fresh arrival: accept, hold, bridge; the caller talks 30 s.
        let h2 = try await TrunkHarness(population)
        var offers2 = h2.trunk.inboundCalls.makeAsyncIterator()
        let arrival = try #require(await h2.trunk.nextScheduledMoment())
        await h2.advance(to: arrival)
        let call = try #require(await offers2.next())
        try await h2.trunk.accept(call.id)
        try await h2.trunk.play(.noAgent, on: call.id)
        await h2.advance(by: .seconds(3))
        try await h2.trunk.bridge(call.id, to: agent)
        await h2.advance(by: .seconds(100))
        let bridgedAt = arrival + .seconds(3)
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .accepted(at: arrival),
                .messageStarted(.noAgent, at: arrival),
                .bridged(to: agent, at: bridgedAt),
                .hungUp(by: .customer, at: bridgedAt + .seconds(30)),
            ])
    }

    @Test func inboundCallsCountAgainstChannelsAndAreRefusedWhenFull() async throws {
        var population = fixedPopulation(.init(machine: 1), channels: 1)
        population.inbound = [.init(did: "+4570000001", callsPerHour: 3600)]
        let h = try await TrunkHarness(population)
        _ = try await dial(h)  // a machine: it holds the only channel
        try await h.run(until: atSecond(30))
        let statistics = await h.trunk.statistics
        #expect(statistics.arrived == 0)
        #expect(statistics.arrivalsRefused > 0)
        #expect(h.log.all.contains { if case .arrivalRefused = $0 { true } else { false } })
    }

    @Test func shutDownFailsEveryCallAndRefusesMore() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(machine: 1)))
        let call = try await dial(h)
        await h.advance(to: atSecond(9))
        await h.trunk.shutDown()
        #expect(
            await TrunkHarness.collect(call.progress) == [
                .ringing(at: atSecond(0)),
                .answered(at: atSecond(5)),
                .answeredByMachine(at: atSecond(5), detectedAt: atSecond(8)),
                .networkFailure(at: atSecond(9)),
            ])
        await #expect(throws: TrunkError.closed) { try await dial(h) }
        #expect(await TrunkHarness.collect(h.trunk.inboundCalls).isEmpty)
    }

    @Test func theTrunksOwnTimerDeliversEventsWhenTheClockMoves() async throws {
        let h = try await TrunkHarness(fixedPopulation(.init(busy: 1)))
        let call = try await dial(h)
        h.clock.advance(to: atSecond(2))  // no catch-up: the trunk's timer must notice
        #expect(await TrunkHarness.collect(call.progress) == [.busy(at: atSecond(2))])
    }

    @Test func timeScaleRunsCallTimeFasterOnTheGivenClock() async throws {
        var population = fixedPopulation(.init(busy: 1))
        population.timeScale = 60
        let h = try await TrunkHarness(population)
        let call = try await dial(h)
        h.clock.advance(to: atSecond(0.034))  // 2.04 s of call time: the busy signal came at 2 s
        #expect(await TrunkHarness.collect(call.progress) == [.busy(at: atSecond(2))])
        #expect(h.trunk.clock.now() == atSecond(2.04))
    }

    @Test(.timeLimit(.minutes(1)))
    func runsOnTheSystemClockScaledForADemo() async throws {
        var population = fixedPopulation(.init(live: 1))
        population.timeScale = 1000  // 5 s of ringing is 5 ms
        population.patienceSeconds = .fixed(seconds: 100_000)  // the test hangs up first
        let trunk = try await SimulatedTrunk(population: population, clock: SystemClock())
        let call = try await trunk.originate(number: number, callerID: callerID, ringTimeout: .seconds(30))
        var events = call.progress.makeAsyncIterator()
        #expect(await events.next() == .ringing(at: call.originatedAt))
        #expect(await events.next() == .answered(at: call.originatedAt + .seconds(5)))
        #expect(
            await events.next()
                == .answeredLive(at: call.originatedAt + .seconds(5), greetingEndsAt: call.originatedAt + .seconds(6)))
        try await trunk.hangUp(call.id)
        guard case .hungUp(.node, _) = await events.next() else {
            Issue.record("expected the node's hang-up")
            return
        }
        #expect(await events.next() == nil)
        await trunk.shutDown()
    }
}
