/// What one queue's ``QueuePicture`` is built from, taken from a ``ReservationBook`` without
/// walking the queue's agents (``ReservationBook/pictureSource(of:now:)``).
///
/// A picture lists every agent of its queue: at 10,000 agents it takes milliseconds to build
/// and more to encode. The book's owner takes a source on its own actor, where the cost does
/// not grow with the agents, and builds and sends the picture elsewhere, so that reservations
/// do not wait behind it. The sessions are the book's own, shared by copy-on-write: the book's
/// next changes copy the parts they change (``AgentTable``).
public struct QueuePictureSource: Sendable {
    /// The queue pictured.
    public let queue: QueueID
    /// The moment the picture is of.
    public let at: Moment
    /// The queue's owner, if known.
    public let owner: QueueOwner?
    /// Every agent's session, as the book held them.
    let agents: AgentTable
    /// The queue's members: agents ranked for it, or working on it.
    let members: Set<AgentID>
    /// The queue's requests not yet granted, oldest first.
    let pending: [QueuePicture.PendingRequest]
    /// How many requests wait (not yet offered or granted) on each other queue that has any.
    let waitingElsewhere: [QueueID: Int]

    /// How many agents the picture will list at most.
    public var memberCount: Int { members.count }

    /// Builds the picture: O(the queue's agents × log of them).
    public func picture() -> QueuePicture {
        var picture = QueuePicture(
            queue: queue,
            at: at,
            owner: owner,
            available: [],
            reserved: [],
            onCall: [],
            wrapUp: [],
            notReady: [],
            pending: pending
        )
        let now = at
        for id in members.sorted() {
            guard let session = agents[id] else { continue }
            let rank = session.skills.rank(for: queue)
            switch session.state {
            case .loggedOut:
                continue
            case .available(let since):
                guard rank != nil else { continue }
                picture.available.append(.init(agent: session.id, rank: rank, since: since, idle: now - since))
            case .notReady(let reason, let since):
                guard rank != nil else { continue }
                picture.notReady.append(.init(agent: session.id, rank: rank, reason: reason, since: since))
            case .reserved(let reservation):
                guard rank != nil || reservation.queue == queue else { continue }
                picture.reserved.append(.init(agent: session.id, rank: rank, reservation: reservation))
            case .onCall(let call):
                guard rank != nil || call.reservation.queue == queue else { continue }
                picture.onCall.append(
                    .init(agent: session.id, rank: rank, call: call, talking: now - call.connectedAt)
                )
            case .wrapUp(let wrapUp):
                guard rank != nil || wrapUp.queue == queue else { continue }
                picture.wrapUp.append(
                    .init(
                        agent: session.id,
                        rank: rank,
                        wrapUp: wrapUp,
                        elapsed: wrapUp.elapsed(at: now),
                        remaining: max(.zero, wrapUp.endsAt - now)
                    )
                )
            }
        }
        picture.available.sort { ($0.since, $0.agent) < ($1.since, $1.agent) }
        picture.pendingAhead = pendingAhead()
        return picture
    }

    /// Requests waiting on other queues that some agent skilled for this queue ranks above it.
    private func pendingAhead() -> Int {
        // Usually no other queue has requests waiting and the scan of the agents is skipped; it
        // stops once every waiting queue is found ahead.
        guard !waitingElsewhere.isEmpty else { return 0 }
        var ahead: Set<QueueID> = []
        for agent in members {
            guard let session = agents[agent], let rank = session.skills.rank(for: queue) else { continue }
            for other in waitingElsewhere.keys where !ahead.contains(other) {
                if let otherRank = session.skills.rank(for: other), otherRank < rank { ahead.insert(other) }
            }
            if ahead.count == waitingElsewhere.count { break }
        }
        return ahead.reduce(0) { $0 + (waitingElsewhere[$1] ?? 0) }
    }
}
