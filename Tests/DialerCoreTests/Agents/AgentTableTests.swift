import Testing

@testable import DialerCore

@Suite("Reservation book: the agents' table in buckets")
struct AgentTableTests {
    @Test func sessionsAreCountedReplacedAndIterated() {
        var table = AgentTable()
        #expect(table.isEmpty && Array(table.values).isEmpty)
        let ids = (0..<1_000).map { AgentID("agent-\($0)") }
        for id in ids { #expect(table.updateValue(AgentSession(id: id)) == nil) }
        #expect(table.count == 1_000)
        #expect(Set(table.map(\.key)) == Set(ids) && Set(table.values.map(\.id)) == Set(ids))
        // Replacing a session keeps the count and returns the old one.
        let changed = AgentSession(id: ids[7], skills: AgentSkills([QueueID("q"): 2]))
        #expect(table.updateValue(changed) == AgentSession(id: ids[7]))
        #expect(table.count == 1_000 && table[ids[7]] == changed && table[AgentID("nobody")] == nil)
    }

    @Test func tablesAreEqualByTheirSessionsWhateverTheOrderOfChanges() {
        var first = AgentTable()
        var second = AgentTable()
        let ids = (0..<200).map { AgentID("a\($0)") }
        for id in ids { first.updateValue(AgentSession(id: id)) }
        for id in ids.reversed() { second.updateValue(AgentSession(id: id)) }
        #expect(first == second)
        second.updateValue(AgentSession(id: ids[3], skills: AgentSkills([QueueID("q"): 1])))
        #expect(first != second)
        second.updateValue(AgentSession(id: AgentID("extra")))
        #expect(first != second)
    }

    /// A copy taken for a picture keeps what it saw while the original goes on changing.
    @Test func aCopyIsUntouchedByLaterChanges() {
        var table = AgentTable()
        let ids = (0..<300).map { AgentID("a\($0)") }
        for id in ids { table.updateValue(AgentSession(id: id)) }
        let copy = table
        for id in ids.prefix(100) { table.updateValue(AgentSession(id: id, skills: AgentSkills([QueueID("q"): 1]))) }
        table.updateValue(AgentSession(id: AgentID("new")))
        #expect(copy.count == 300 && copy[AgentID("new")] == nil)
        #expect(copy.values.allSatisfy { $0.skills == AgentSkills() })
        #expect(table.count == 301 && table[ids[0]]?.skills == AgentSkills([QueueID("q"): 1]))
    }
}
