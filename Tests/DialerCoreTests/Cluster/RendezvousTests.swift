import DialerCore
import Testing

@Suite("Rendezvous placement")
struct RendezvousTests {
    private let three = [MemberID("node-a"), MemberID("node-b"), MemberID("node-c")]

    private func queues(_ count: Int) -> [QueueID] {
        (0..<count).map { QueueID("queue-\($0)") }
    }

    @Test("weights are fixed values, the same in every process and on every platform")
    func weightsAreStable() {
        // Reference values computed independently (FNV-1a 64 then MurmurHash3 fmix64 in another
        // language); a change here would move queues between nodes across a rolling upgrade.
        #expect(Rendezvous.weight(of: MemberID("node-a"), for: QueueID("campaign-1")) == 0xFE83_4B00_F4EF_B76F)
        #expect(Rendezvous.weight(of: MemberID("node-b"), for: QueueID("campaign-1")) == 0x2FD3_6611_1511_740C)
        #expect(Rendezvous.weight(of: MemberID(""), for: QueueID("")) == 0xB903_4AD3_7056_F5FB)
    }

    @Test("the owner is a fixed node for fixed inputs, whatever the order of the nodes")
    func ownerIsDeterministic() {
        let expected: [(String, String)] = [
            ("campaign-1", "node-a"),
            ("campaign-2", "node-b"),
            ("inbound-sales", "node-b"),
            ("inbound-support", "node-a"),
            ("q-42", "node-a"),
        ]
        for (queue, owner) in expected {
            #expect(Rendezvous.owner(of: QueueID(queue), among: three) == MemberID(owner))
            #expect(Rendezvous.owner(of: QueueID(queue), among: three.reversed()) == MemberID(owner))
            #expect(Rendezvous.owner(of: QueueID(queue), among: Set(three)) == MemberID(owner))
        }
    }

    @Test("no node, no owner; one node owns everything")
    func degenerateMemberships() {
        #expect(Rendezvous.owner(of: QueueID("q"), among: [MemberID]()) == nil)
        for queue in queues(50) {
            #expect(Rendezvous.owner(of: queue, among: [MemberID("solo")]) == MemberID("solo"))
        }
    }

    @Test("the separator keeps node and queue apart")
    func separatorMatters() {
        #expect(
            Rendezvous.weight(of: MemberID("ab"), for: QueueID("c"))
                != Rendezvous.weight(of: MemberID("a"), for: QueueID("bc"))
        )
    }

    @Test("1,000 queues over 3 nodes: each node gets between 25% and 42%")
    func balance() {
        var counts: [MemberID: Int] = [:]
        for queue in queues(1000) {
            counts[Rendezvous.owner(of: queue, among: three)!, default: 0] += 1
        }
        #expect(counts.count == 3)
        for node in three {
            let share = counts[node, default: 0]
            #expect((250...420).contains(share), "\(node) got \(share) of 1000")
        }
    }

    @Test("adding a node moves only the queues that now go to it")
    func addingMovesOnlyToTheNewNode() {
        let four = three + [MemberID("node-d")]
        var moved = 0
        for queue in queues(1000) {
            let before = Rendezvous.owner(of: queue, among: three)!
            let after = Rendezvous.owner(of: queue, among: four)!
            if before != after {
                #expect(after == MemberID("node-d"))
                moved += 1
            }
        }
        // About a quarter should move: the new node's fair share, not a reshuffle.
        #expect((150...350).contains(moved), "moved \(moved)")
    }

    @Test("removing a node moves only its own queues")
    func removingMovesOnlyItsQueues() {
        let two = [MemberID("node-a"), MemberID("node-c")]
        for queue in queues(1000) {
            let before = Rendezvous.owner(of: queue, among: three)!
            let after = Rendezvous.owner(of: queue, among: two)!
            if before != MemberID("node-b") {
                #expect(after == before)
            } else {
                #expect(two.contains(after))
            }
        }
    }
}
