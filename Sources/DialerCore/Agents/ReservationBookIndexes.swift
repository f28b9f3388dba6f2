import HeapModule

/// Indexes a ``ReservationBook`` keeps beside its sessions and records, so that matching costs
/// O(log n) in the floor's agents and a queue's picture costs what that queue holds, not what the
/// whole floor holds.
///
/// Derived data only: everything here follows from the book's sessions and records, is updated by
/// the book whenever they change, and is left out of the book's equality.
struct ReservationBookIndexes: Sendable {
    /// Per queue, the available agents who serve it, longest available first.
    private(set) var available: [QueueID: AvailableAgents] = [:]
    /// Per queue, the logged-in agents its picture shows: those ranked for it, and those whose
    /// reservation, call or wrap-up is on it. A picture's source shares the set (copy-on-write).
    private(set) var members: [QueueID: Set<AgentID>] = [:]
    /// Per queue (the request's own queue, as pictures and owner changes see it), the held requests.
    private(set) var requestsByQueue: [QueueID: Set<RequestID>] = [:]
    /// Per node, the held requests it sent.
    private(set) var requestsByNode: [MemberID: Set<RequestID>] = [:]

    // MARK: Sessions

    /// Follows a session from `old` (nil: never seen) to `new`; `sessions` already holds `new`.
    mutating func sessionChanged(from old: AgentSession?, to new: AgentSession, sessions: some AgentSessionLookup) {
        let oldSince = old.flatMap(Self.availableSince)
        let newSince = Self.availableSince(new)
        let sameSkills = old?.skills == new.skills
        if oldSince != newSince || !sameSkills {
            if let oldSince, let old {
                for queue in old.skills.ranks.keys {
                    let stillThere = newSince == oldSince && new.skills.serves(queue)
                    if !stillThere { available[queue]?.leave() }
                }
            }
            if let newSince {
                for queue in new.skills.ranks.keys {
                    let alreadyThere = oldSince == newSince && old?.skills.serves(queue) == true
                    if !alreadyThere {
                        available[queue, default: AvailableAgents()].join(
                            new.id, since: newSince, queue: queue, sessions: sessions)
                    }
                }
            }
        }
        let oldWork = old.flatMap { Self.workQueue(of: $0.state) }
        let newWork = Self.workQueue(of: new.state)
        let oldIn = old.map { $0.state != .loggedOut } ?? false
        let newIn = new.state != .loggedOut
        guard !(sameSkills && oldWork == newWork && oldIn == newIn) else { return }
        if sameSkills && oldIn == newIn {
            // Only the work queue moved (a grant, a call's end, a wrap-up's end): membership
            // changes only for a work queue the agent is not ranked for.
            guard newIn else { return }
            if let oldWork, !new.skills.serves(oldWork) { removeMember(new.id, from: oldWork) }
            if let newWork, !new.skills.serves(newWork) { members[newWork, default: []].insert(new.id) }
            return
        }
        let before = old.map(Self.memberQueues) ?? []
        let after = Self.memberQueues(new)
        for queue in before.subtracting(after) { removeMember(new.id, from: queue) }
        for queue in after.subtracting(before) {
            members[queue, default: []].insert(new.id)
        }
    }

    private mutating func removeMember(_ agent: AgentID, from queue: QueueID) {
        members[queue]?.remove(agent)
        if members[queue]?.isEmpty == true { members[queue] = nil }
    }

    /// The eligible available agent of `queue` available the longest (ties by agent id), leaving
    /// out `excluded`; nil if there is none.
    ///
    /// - Parameter sessions: the book's sessions, to tell current entries from stale ones.
    mutating func longestAvailable(
        serving queue: QueueID,
        excluding excluded: Set<AgentID>,
        sessions: some AgentSessionLookup
    ) -> AgentID? {
        available[queue]?.longestAvailable(serving: queue, excluding: excluded, sessions: sessions)
    }

    // MARK: Requests

    mutating func requestAdded(_ request: ReservationRequest) {
        requestsByQueue[request.queue, default: []].insert(request.id)
        requestsByNode[request.node, default: []].insert(request.id)
    }

    mutating func requestRemoved(_ request: ReservationRequest) {
        requestsByQueue[request.queue]?.remove(request.id)
        if requestsByQueue[request.queue]?.isEmpty == true { requestsByQueue[request.queue] = nil }
        requestsByNode[request.node]?.remove(request.id)
        if requestsByNode[request.node]?.isEmpty == true { requestsByNode[request.node] = nil }
    }

    // MARK: Derivations

    private static func availableSince(_ session: AgentSession) -> Moment? {
        if case .available(let since) = session.state { return since }
        return nil
    }

    /// The queue an agent's reservation, call or wrap-up is on.
    static func workQueue(of state: AgentState) -> QueueID? {
        switch state {
        case .reserved(let reservation): reservation.queue
        case .onCall(let call): call.reservation.queue
        case .wrapUp(let wrapUp): wrapUp.queue
        default: nil
        }
    }

    private static func memberQueues(_ session: AgentSession) -> Set<QueueID> {
        guard session.state != .loggedOut else { return [] }
        var queues = Set(session.skills.ranks.keys)
        if let work = workQueue(of: session.state) { queues.insert(work) }
        return queues
    }
}

/// The available agents who serve one queue, longest available first.
///
/// A min-heap of (available since, agent) entries with lazy deletion: an agent who stops being
/// available leaves a stale entry behind, dropped when it reaches the top or when the heap is
/// compacted. Every available agent serving the queue has at least one current entry, because an
/// entry is pushed whenever an agent becomes available, changes their available-since, or gains
/// the queue. Pushing and taking the longest available cost O(log n), amortised.
struct AvailableAgents: Sendable {
    struct Entry: Comparable, Sendable {
        var since: Moment
        var agent: AgentID

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.since, lhs.agent) < (rhs.since, rhs.agent)
        }
    }

    private var heap = Heap<Entry>()
    /// How many agents are available and serve the queue now: the heap's current entries, not
    /// counting duplicates and stale ones.
    private(set) var count = 0

    /// Entries in the heap, current or stale (for tests of compaction).
    var entryCount: Int { heap.count }

    mutating func join(_ agent: AgentID, since: Moment, queue: QueueID, sessions: some AgentSessionLookup) {
        count += 1
        heap.insert(Entry(since: since, agent: agent))
        compactIfNeeded(queue: queue, sessions: sessions)
    }

    mutating func leave() {
        count -= 1
    }

    /// The longest-available agent not in `excluded`, dropping stale entries on the way.
    mutating func longestAvailable(
        serving queue: QueueID,
        excluding excluded: Set<AgentID>,
        sessions: some AgentSessionLookup
    ) -> AgentID? {
        var setAside: [Entry] = []
        defer { for entry in setAside { heap.insert(entry) } }
        while let top = heap.min {
            guard Self.isCurrent(top, queue: queue, sessions: sessions) else {
                heap.removeMin()
                continue
            }
            if excluded.contains(top.agent) {
                setAside.append(heap.removeMin())
                continue
            }
            compactIfNeeded(queue: queue, sessions: sessions)
            return top.agent
        }
        return nil
    }

    private static func isCurrent(_ entry: Entry, queue: QueueID, sessions: some AgentSessionLookup) -> Bool {
        guard let session = sessions[entry.agent], case .available(let since) = session.state else { return false }
        return since == entry.since && session.skills.serves(queue)
    }

    /// Rebuilds the heap from its current entries once stale ones and duplicates outnumber them,
    /// so that its size stays proportional to the agents it holds.
    private mutating func compactIfNeeded(queue: QueueID, sessions: some AgentSessionLookup) {
        guard heap.count > 2 * count + 64 else { return }
        var seen: Set<AgentID> = []
        let current = heap.unordered.filter {
            Self.isCurrent($0, queue: queue, sessions: sessions) && seen.insert($0.agent).inserted
        }
        heap = Heap(current)
    }
}

/// Where the indexes look up an agent's current session: the book's ``AgentTable``, or a plain
/// dictionary in tests.
protocol AgentSessionLookup {
    subscript(agent: AgentID) -> AgentSession? { get }
}

extension Dictionary: AgentSessionLookup where Key == AgentID, Value == AgentSession {}
