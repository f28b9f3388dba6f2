import Testing

@testable import DialerCore

@Suite("Reservation book: a queue's members in buckets")
struct QueueMembersTests {
    @Test func membersAreCountedReplacedAndRemoved() {
        var members = QueueMembers()
        #expect(members.isEmpty && members.sortedAgents().isEmpty)
        let ids = (0..<1_000).map { AgentID("agent-\($0)") }
        for id in ids { members[id] = AgentSession(id: id) }
        #expect(members.count == 1_000)
        #expect(members.sortedAgents() == ids.sorted())
        // Replacing a member's session keeps the count.
        let changed = AgentSession(id: ids[7], skills: AgentSkills([QueueID("q"): 2]))
        members[ids[7]] = changed
        #expect(members.count == 1_000 && members[ids[7]] == changed)
        // Removing, and removing again.
        for id in ids.prefix(400) { members[id] = nil }
        members[ids[0]] = nil
        #expect(members.count == 600 && members[ids[0]] == nil)
        #expect(Set(members.sessions.map(\.id)) == Set(ids.dropFirst(400)))
        for id in ids.dropFirst(400) { members[id] = nil }
        #expect(members.isEmpty && Array(members.sessions).isEmpty)
    }

    /// A copy taken for a picture keeps what it saw while the original goes on changing.
    @Test func aCopyIsUntouchedByLaterChanges() {
        var members = QueueMembers()
        let ids = (0..<300).map { AgentID("a\($0)") }
        for id in ids { members[id] = AgentSession(id: id) }
        let copy = members
        for id in ids.prefix(100) { members[id] = nil }
        members[AgentID("new")] = AgentSession(id: AgentID("new"))
        #expect(copy.count == 300 && copy.sortedAgents() == ids.sorted())
        #expect(members.count == 201 && members[AgentID("new")] != nil && copy[AgentID("new")] == nil)
    }
}
