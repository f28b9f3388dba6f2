import DialerCore

/// Small fixtures shared by the agent and reservation tests.
///
/// Suites adopt this protocol instead of using globals, so that the names cannot clash with other
/// test files of the module.
protocol ReservationFixtures {}

extension ReservationFixtures {
    var inbound: QueueID { QueueID("inbound") }
    var campaignA: QueueID { QueueID("campaign-a") }
    var campaignB: QueueID { QueueID("campaign-b") }
    var node1: MemberID { MemberID("node-1") }
    var node2: MemberID { MemberID("node-2") }
    var alice: AgentID { AgentID("alice") }
    var bob: AgentID { AgentID("bob") }
    var carol: AgentID { AgentID("carol") }

    var defaultSkills: AgentSkills {
        AgentSkills.defaultRanks([inbound: .inbound, campaignA: .campaign, campaignB: .campaign])
    }

    /// The moment `seconds` after the origin.
    func at(_ seconds: Double) -> Moment {
        Moment.origin + .milliseconds(Int64(seconds * 1000))
    }

    func makeRequest(
        _ id: String,
        queue: QueueID? = nil,
        epoch: UInt64 = 1,
        node: MemberID? = nil,
        kind: RequestKind = .outboundReservation,
        named: AgentID? = nil,
        deadline: Double = 1000
    ) -> ReservationRequest {
        ReservationRequest(
            id: RequestID(id),
            queue: queue ?? campaignA,
            epoch: Epoch(epoch),
            node: node ?? node1,
            kind: kind,
            namedAgent: named,
            deadline: at(deadline)
        )
    }

    /// A book with agents logged in and made ready at the given moments, all skilled by `skills`.
    func bookWithReadyAgents(
        _ readyAt: [(AgentID, Double)],
        skills: AgentSkills? = nil,
        configuration: ReservationBook.Configuration = .init()
    ) throws -> ReservationBook {
        var book = ReservationBook(configuration: configuration)
        _ = try book.setQueueOwner(inbound, node: node1, epoch: Epoch(1), now: at(0))
        _ = try book.setQueueOwner(campaignA, node: node1, epoch: Epoch(1), now: at(0))
        _ = try book.setQueueOwner(campaignB, node: node2, epoch: Epoch(1), now: at(0))
        for (agent, time) in readyAt.sorted(by: { $0.1 < $1.1 }) {
            _ = try book.logIn(agent, skills: skills ?? defaultSkills, now: at(time))
            _ = try book.makeReady(agent, now: at(time))
        }
        return book
    }
}

extension Array where Element == ReservationAction {
    var grants: [Grant] {
        compactMap { if case .granted(let grant) = $0 { grant } else { nil } }
    }

    var offers: [Offer] {
        compactMap { if case .offer(let offer) = $0 { offer } else { nil } }
    }

    var rejections: [(RequestID, RejectionReason)] {
        compactMap { if case .rejected(let id, _, let reason) = $0 { (id, reason) } else { nil } }
    }

    var timeouts: [RequestID] {
        compactMap { if case .timedOut(let id, _) = $0 { id } else { nil } }
    }

    var revocations: [(RequestID, AgentID, ReservationEndReason)] {
        compactMap {
            if case .grantRevoked(let id, _, let agent, let reason) = $0 { (id, agent, reason) } else { nil }
        }
    }

    var withdrawals: [(RequestID, AgentID, ReservationEndReason)] {
        compactMap {
            if case .offerWithdrawn(let id, let agent, let reason) = $0 { (id, agent, reason) } else { nil }
        }
    }

    var scheduled: [(timer: BookTimer, at: Moment)] {
        compactMap { if case .scheduleTimer(let timer, let at) = $0 { (timer, at) } else { nil } }
    }

    /// The timer scheduled for `purpose` (the last one, if several).
    func timer(for purpose: BookTimer.Purpose) -> BookTimer? {
        scheduled.last { $0.timer.purpose == purpose }?.timer
    }
}
