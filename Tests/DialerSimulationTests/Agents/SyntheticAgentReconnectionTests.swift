import DialerSimulation
import Testing

/// An agent whose connection dropped logs in again and carries on from where the gateway says
/// its session stands.
@Suite("Synthetic agent behaviour: reconnecting")
struct SyntheticAgentReconnectionTests {
    typealias Behaviour = SyntheticAgentBehaviour

    func sent(_ actions: [Behaviour.Action]) -> [Behaviour.Operation] {
        actions.compactMap { if case .send(let operation) = $0 { operation } else { nil } }
    }

    func timers(_ actions: [Behaviour.Action]) -> [Behaviour.Timer] {
        actions.compactMap { if case .setTimer(let timer, _) = $0 { timer } else { nil } }
    }

    func agentOnACall() -> Behaviour {
        var agent = Behaviour(
            profile: SyntheticAgentProfile(talkSeconds: .fixed(seconds: 60), wrapUpSeconds: .fixed(seconds: 5)),
            seed: 9)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.connected(request: "r1", attempt: "a1")
        return agent
    }

    @Test func aRestartedGatewayGivesAFreshSessionAndTheAgentGoesReady() {
        var agent = Behaviour(profile: SyntheticAgentProfile(talkSeconds: .fixed(seconds: 60)), seed: 9)
        _ = agent.start()
        _ = agent.loggedIn()
        let old = timers(agent.connected(request: "r1", attempt: "a1"))
        #expect(!old.isEmpty)
        #expect(sent(agent.reconnected()) == [.logIn])
        #expect(agent.phase == .loggingIn)
        #expect(agent.tally.reconnections == 1)
        #expect(sent(agent.resumed(state: "not-ready", request: nil, wrapUpRemaining: nil)) == [.setReady])
        #expect(agent.phase == .available)
        // The old connection's timers are dead.
        for timer in old { #expect(agent.timerFired(timer).isEmpty) }
    }

    @Test func aSessionKeptThroughTheGraceResumesOnItsCall() throws {
        var agent = agentOnACall()
        _ = agent.reconnected()
        let actions = agent.resumed(state: "on-call", request: "r1", wrapUpRemaining: nil)
        #expect(agent.phase == .onCall(request: "r1", attempt: "a1"))
        #expect(sent(actions).isEmpty, "no ready while on the call")
        #expect(agent.tally.calls == 1, "the same call, not a new one")
        let hangUp = try #require(timers(actions).first)
        #expect(sent(agent.timerFired(hangUp)) == [.hangUp(request: "r1")])
    }

    @Test func aSessionInWrapUpResumesItAndSendsTheDisposition() throws {
        var agent = agentOnACall()
        _ = agent.reconnected()
        let actions = agent.resumed(state: "wrap-up", request: nil, wrapUpRemaining: .seconds(20))
        #expect(agent.phase == .wrappingUp(attempt: "a1"))
        let finish = try #require(timers(actions).first)
        #expect(sent(agent.timerFired(finish)).contains { if case .disposition("a1", _) = $0 { true } else { false } })
    }

    @Test func anAvailableSessionStaysAvailable() {
        var agent = Behaviour(profile: SyntheticAgentProfile(), seed: 2)
        _ = agent.start()
        _ = agent.loggedIn()
        _ = agent.reconnected()
        #expect(sent(agent.resumed(state: "available", request: nil, wrapUpRemaining: nil)).isEmpty)
        #expect(agent.phase == .available)
    }

    @Test func theBackoffDoublesUpToItsMaximum() {
        let reconnection = SyntheticAgent.Reconnection(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
        for (failures, base) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let delay = reconnection.delay(after: failures)
            #expect(delay >= .milliseconds(base) && delay < .milliseconds(base) * 1.25, "after \(failures): \(delay)")
        }
    }
}
