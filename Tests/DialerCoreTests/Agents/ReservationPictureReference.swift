@testable import DialerCore

/// A queue's picture computed the slow way, from every session and every held request, as the
/// book computed it before it kept indexes: the reference the randomised test holds the book's
/// indexed pictures to.
enum ReservationPictureReference {
    static func picture(of queue: QueueID, in book: ReservationBook, now: Moment) -> QueuePicture {
        var picture = QueuePicture(
            queue: queue, at: now, owner: book.owner(of: queue), available: [], reserved: [], onCall: [],
            wrapUp: [], notReady: [], pending: [])
        for session in book.agents.values.sorted(by: { $0.id < $1.id }) {
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
                picture.onCall.append(.init(agent: session.id, rank: rank, call: call, talking: now - call.connectedAt))
            case .wrapUp(let wrapUp):
                guard rank != nil || wrapUp.queue == queue else { continue }
                picture.wrapUp.append(
                    .init(
                        agent: session.id, rank: rank, wrapUp: wrapUp, elapsed: wrapUp.elapsed(at: now),
                        remaining: max(.zero, wrapUp.endsAt - now)))
            }
        }
        picture.available.sort { ($0.since, $0.agent) < ($1.since, $1.agent) }
        let held = book.heldRequests
        picture.pending = held.filter { $0.request.queue == queue }.compactMap { held in
            let offeredTo: AgentID?
            switch held.status {
            case .pending: offeredTo = nil
            case .offered(let agent, _): offeredTo = agent
            case .granted, .connected: return nil
            }
            return .init(
                request: held.request, arrivedAt: held.arrivedAt, waiting: now - held.arrivedAt, offeredTo: offeredTo)
        }
        var ahead: Set<QueueID> = []
        for session in book.agents.values {
            guard session.state != .loggedOut, let rank = session.skills.rank(for: queue) else { continue }
            for (other, otherRank) in session.skills.ranks where other != queue && otherRank < rank {
                ahead.insert(other)
            }
        }
        picture.pendingAhead = held.count { held in
            guard case .pending = held.status else { return false }
            return ahead.contains(held.request.agentQueue)
        }
        return picture
    }
}
