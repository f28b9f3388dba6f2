import DialerSimulation
import Testing

@Suite("Synthetic agent behaviour, without a gateway")
struct SyntheticAgentBehaviourTests {
    typealias Behaviour = SyntheticAgentBehaviour

    /// The timers among `actions`.
    func timers(_ actions: [Behaviour.Action]) -> [(Behaviour.Timer, Duration)] {
        actions.compactMap { if case .setTimer(let timer, let delay) = $0 { (timer, delay) } else { nil } }
    }

    func sent(_ actions: [Behaviour.Action]) -> [Behaviour.Operation] {
        actions.compactMap { if case .send(let operation) = $0 { operation } else { nil } }
    }

    @Test func logsInThenGoesReady() {
        var agent = Behaviour(profile: SyntheticAgentProfile(), seed: 1)
        #expect(sent(agent.start()) == [.logIn])
        #expect(agent.phase == .loggingIn)
        #expect(sent(agent.loggedIn()) == [.setReady])
        #expect(agent.phase == .available)
    }

    @Test(arguments: [(0.0, true), (1.0, false)])
    func answersAPreviewOfferAfterTheDrawnDelay(rejectProbability: Double, accepts: Bool) throws {
        var agent = Behaviour(
            profile: SyntheticAgentProfile(acceptSeconds: .fixed(seconds: 3), rejectProbability: rejectProbability),
            seed: 7)
        _ = agent.start()
        _ = agent.loggedIn()
        let actions = agent.offered(request: "r1")
        #expect(sent(actions).isEmpty)
        let (timer, delay) = try #require(timers(actions).first)
        #expect(delay == .seconds(3))
        #expect(sent(agent.timerFired(timer)) == [.answerOffer(request: "r1", accept: accepts)])
        #expect(agent.phase == (accepts ? .reserved(request: "r1") : .available))
        #expect(agent.tally.offersAccepted == (accepts ? 1 : 0))
        #expect(agent.tally.offersRejected == (accepts ? 0 : 1))
    }

    @Test func aWithdrawnOfferIsNotAnsweredWhenItsTimerFires() throws {
        var agent = Behaviour(profile: SyntheticAgentProfile(), seed: 3)
        _ = agent.start()
        _ = agent.loggedIn()
        let (timer, _) = try #require(timers(agent.offered(request: "r1")).first)
        _ = agent.offerWithdrawn(request: "r1")
        #expect(agent.phase == .available)
        #expect(agent.timerFired(timer).isEmpty)
        // A timer fires once at most.
        #expect(agent.timerFired(timer).isEmpty)
    }

    @Test func hangsUpAfterTheTalkTimeUnlessTheCallEndedFirst() throws {
        var agent = Behaviour(profile: SyntheticAgentProfile(talkSeconds: .fixed(seconds: 90)), seed: 5)
        _ = agent.start()
        _ = agent.loggedIn()
        let (hangUp, delay) = try #require(timers(agent.connected(request: "r1", attempt: "a1")).first)
        #expect(delay == .seconds(90))
        #expect(sent(agent.timerFired(hangUp)) == [.hangUp(request: "r1")])

        let (second, _) = try #require(timers(agent.connected(request: "r2", attempt: "a2")).first)
        _ = agent.statusChanged(state: "wrap-up", request: "r2", wrapUpRemaining: .seconds(60))
        #expect(agent.timerFired(second).isEmpty, "the customer hung up first: nothing to hang up")
    }

    @Test func writesTheDispositionThenGoesReadyExtendingAShortWrapUp() throws {
        var agent = Behaviour(
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 40),
                dispositions: [.init(name: "sale", weight: 1)]),
            seed: 9)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.connected(request: "r1", attempt: "a1")
        let actions = agent.statusChanged(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(30))
        #expect(sent(actions) == [.extendWrapUp(seconds: 11)])
        let (finish, delay) = try #require(timers(actions).first)
        #expect(delay == .seconds(40))
        #expect(sent(agent.timerFired(finish)) == [.disposition(attempt: "a1", name: "sale"), .setReady])
        #expect(agent.phase == .available)
        #expect(agent.tally.dispositions == 1)
    }

    /// The manager refuses a disposition while the node's result for the call is on its way:
    /// the agent sends it again after 2, 4, 8 ... seconds, and gives up after the last try.
    @Test func aDispositionRefusedForWantOfTheResultIsSentAgainWithBackoff() throws {
        var agent = Behaviour(
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 5), dispositions: [.init(name: "sale", weight: 1)]),
            seed: 3)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.connected(request: "r1", attempt: "a1")
        let wrapUp = agent.statusChanged(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(30))
        let disposition = Behaviour.Operation.disposition(attempt: "a1", name: "sale")
        #expect(sent(agent.timerFired(try #require(timers(wrapUp).first).0)) == [disposition, .setReady])
        #expect(agent.refused(.setReady, retryable: true).isEmpty, "only dispositions are sent again")
        #expect(agent.refused(disposition, retryable: false).isEmpty, "only when the refusal says so")
        var delays: [Duration] = []
        var actions = agent.refused(disposition, retryable: true)
        while let (timer, delay) = timers(actions).first {
            delays.append(delay)
            #expect(sent(agent.timerFired(timer)) == [disposition])
            actions = agent.refused(disposition, retryable: true)
        }
        #expect(delays == [2, 4, 8, 16, 32, 64, 128].map { .seconds($0) })
        #expect(agent.tally.dispositionRetries == 7)
        #expect(agent.tally.dispositionsLost == 1)
        // Accepted on a retry: nothing more is sent.
        _ = agent.connected(request: "r2", attempt: "a2")
        let second = agent.statusChanged(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(30))
        _ = agent.timerFired(try #require(timers(second).first).0)
        let again = Behaviour.Operation.disposition(attempt: "a2", name: "sale")
        let retry = try #require(timers(agent.refused(again, retryable: true)).first).0
        #expect(sent(agent.timerFired(retry)) == [again])
        agent.answered(again)
        #expect(agent.tally.dispositionsLost == 1)
    }

    @Test func pausesAfterACallWhenTheProfileSaysSo() throws {
        var agent = Behaviour(
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 5), pauseProbability: 1, pauseSeconds: .fixed(seconds: 300),
                pauseReason: "lunch"),
            seed: 11)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.connected(request: "r1", attempt: nil)
        let (finish, _) = try #require(
            timers(agent.statusChanged(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(60))).first)
        let actions = agent.timerFired(finish)
        #expect(sent(actions) == [.setNotReady(reason: "lunch")], "no attempt, so no disposition")
        #expect(agent.phase == .paused)
        let (endPause, pause) = try #require(timers(actions).first)
        #expect(pause == .seconds(300))
        #expect(sent(agent.timerFired(endPause)) == [.setReady])
        #expect(agent.tally.pauses == 1)
    }

    @Test func aReservationReturnedWithoutACallLeavesTheAgentAvailable() {
        var agent = Behaviour(profile: SyntheticAgentProfile(), seed: 2)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.statusChanged(state: "reserved", request: "r1", wrapUpRemaining: nil)
        #expect(agent.phase == .reserved(request: "r1"))
        _ = agent.statusChanged(state: "available", request: nil, wrapUpRemaining: nil)
        #expect(agent.phase == .available)
    }

    @Test func theSameSeedGivesTheSameDay() {
        func day(seed: UInt64) -> [Behaviour.Action] {
            var agent = Behaviour(
                profile: SyntheticAgentProfile(
                    rejectProbability: 0.4, talkSeconds: .logNormal(mean: 100, standardDeviation: 50),
                    pauseProbability: 0.3,
                    dispositions: [.init(name: "sale", weight: 1), .init(name: "no", weight: 3)]),
                seed: seed)
            var log = agent.start() + agent.loggedIn()
            for call in 0..<30 {
                let offer = agent.offered(request: "o\(call)")
                log += offer
                for case .setTimer(let timer, _) in offer { log += agent.timerFired(timer) }
                let connected = agent.connected(request: "c\(call)", attempt: "a\(call)")
                log += connected
                let wrap = agent.statusChanged(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(20))
                log += wrap
                for case .setTimer(let timer, _) in wrap {
                    let after = agent.timerFired(timer)
                    log += after
                    for case .setTimer(let pause, _) in after { log += agent.timerFired(pause) }
                }
            }
            return log
        }
        #expect(day(seed: 42) == day(seed: 42))
        #expect(day(seed: 42) != day(seed: 43))
    }

    @Test func aProfileWithABadFieldNamesIt() {
        func field(_ profile: SyntheticAgentProfile) -> String? {
            do {
                try profile.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(SyntheticAgentProfile()) == nil)
        #expect(field(SyntheticAgentProfile(rejectProbability: 1.5)) == "rejectProbability")
        #expect(field(SyntheticAgentProfile(pauseProbability: -0.1)) == "pauseProbability")
        #expect(field(SyntheticAgentProfile(dispositions: [])) == "dispositions")
        #expect(field(SyntheticAgentProfile(dispositions: [.init(name: "x", weight: 0)])) == "dispositions[0].weight")
        #expect(field(SyntheticAgentProfile(wrapUpSeconds: .fixed(seconds: -1))) == "wrapUpSeconds.fixed")
    }
}
