import Testing

@testable import DialerCore

@Suite("Reservation book: the available-agents index")
struct AvailableAgentsTests {
    let queue = QueueID("q")

    func session(_ id: String, available since: Moment?, serving: Bool = true) -> AgentSession {
        var session = AgentSession(id: AgentID(id))
        try? session.logIn(skills: AgentSkills(serving ? [queue: 1] : [:]), now: .origin)
        if let since { try? session.makeReady(now: since) }
        return session
    }

    @Test func longestAvailableFirstSkippingExcludedAndStale() {
        var sessions: [AgentID: AgentSession] = [:]
        var index = AvailableAgents()
        for (name, second) in [("a", 3), ("b", 1), ("c", 2)] {
            let moment = Moment.origin + .seconds(second)
            sessions[AgentID(name)] = session(name, available: moment)
            index.join(AgentID(name), since: moment, queue: queue, sessions: sessions)
        }
        #expect(index.longestAvailable(serving: queue, excluding: [], sessions: sessions) == AgentID("b"))
        #expect(index.longestAvailable(serving: queue, excluding: [AgentID("b")], sessions: sessions) == AgentID("c"))
        // b is no longer available: its entry is stale and dropped; c is next.
        sessions[AgentID("b")] = session("b", available: nil)
        index.leave()
        #expect(index.longestAvailable(serving: queue, excluding: [], sessions: sessions) == AgentID("c"))
        // The excluded entry set aside is put back.
        #expect(index.longestAvailable(serving: queue, excluding: [AgentID("c")], sessions: sessions) == AgentID("a"))
        #expect(index.longestAvailable(serving: queue, excluding: [], sessions: sessions) == AgentID("c"))
    }

    @Test func staleEntriesAreCompactedAway() {
        // An agent going available and away many times with nobody taking them leaves one stale
        // entry each time; the heap stays proportional to the agents it holds.
        var sessions: [AgentID: AgentSession] = [:]
        var index = AvailableAgents()
        let agent = AgentID("a")
        for second in 1...10_000 {
            let moment = Moment.origin + .seconds(second)
            sessions[agent] = session("a", available: moment)
            index.join(agent, since: moment, queue: queue, sessions: sessions)
            sessions[agent] = session("a", available: nil)
            index.leave()
        }
        #expect(index.count == 0)
        #expect(index.entryCount <= 2 * index.count + 65)
        #expect(index.longestAvailable(serving: queue, excluding: [], sessions: sessions) == nil)
    }
}
