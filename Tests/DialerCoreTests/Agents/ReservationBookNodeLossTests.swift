import DialerCore
import Testing

/// A node lost for good: its connected calls end for their agents, who go to wrap-up (or log
/// out, if they asked to) and take the next call, while other nodes' calls stay.
@Suite("Reservation book: calls of a lost node")
struct ReservationBookNodeLossTests: ReservationFixtures {
    /// Alice on a call of node 1, bob on a call of node 2, carol available.
    func bookWithTwoCalls() throws -> ReservationBook {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("n1-call"), now: at(10))
        _ = try book.confirm(RequestID("n1-call"), epoch: Epoch(1), now: at(11))
        _ = try book.request(makeRequest("n2-call", queue: campaignB, node: node2), now: at(12))
        _ = try book.confirm(RequestID("n2-call"), epoch: Epoch(1), now: at(13))
        _ = try book.logIn(carol, skills: defaultSkills, now: at(14))
        _ = try book.makeReady(carol, now: at(14))
        return book
    }

    @Test func nodeLostLeavesConnectedCallsAndEndLostCallsEndsThemInWrapUp() throws {
        var book = try bookWithTwoCalls()
        // The connection dropped: the node may come back, so its calls stay.
        _ = book.nodeLost(node1, now: at(20))
        guard case .onCall = book.agent(alice)?.state else {
            Issue.record("alice left her call when the node's connection dropped")
            return
        }
        #expect(book.connectedCalls(ofNode: node1).map(\.request.id) == [RequestID("n1-call")])
        #expect(book.connectedCalls(ofNode: node2).map(\.request.id) == [RequestID("n2-call")])

        // Gone for good: alice goes to wrap-up; bob's call on node 2 is not touched.
        let (ended, actions) = book.endLostCalls([RequestID("n1-call")], now: at(30))
        #expect(ended.map(\.agent) == [alice])
        #expect(ended.map(\.request.id) == [RequestID("n1-call")])
        guard case .wrapUp(let wrapUp) = book.agent(alice)?.state else {
            Issue.record("alice is not in wrap-up: \(String(describing: book.agent(alice)?.state))")
            return
        }
        #expect(wrapUp.request == RequestID("n1-call"))
        #expect(wrapUp.endsAt == at(30) + book.configuration.wrapUpLength)
        #expect(actions.timer(for: .wrapUp(alice)) != nil, "her wrap-up ends by itself too")
        #expect(book.heldRequest(RequestID("n1-call")) == nil)
        guard case .onCall = book.agent(bob)?.state else {
            Issue.record("bob's call of a live node ended")
            return
        }
        #expect(book.log.last?.event == .callEnded)
        // Ending it again, or a call that is not connected, changes nothing.
        let before = book
        #expect(book.endLostCalls([RequestID("n1-call"), RequestID("nothing")], now: at(31)).ended.isEmpty)
        #expect(book == before)
    }

    @Test func theAgentRecordsTheDispositionAndTakesTheNextCall() throws {
        var book = try bookWithTwoCalls()
        _ = book.endLostCalls([RequestID("n1-call")], now: at(30))
        _ = try book.finishWrapUp(alice, now: at(35))
        #expect(book.agent(alice)?.state == .available(since: at(35)))
        // Node 2 took the queue over: its next request goes to the longest available, carol,
        // then alice.
        let first = try book.request(makeRequest("next-1", epoch: 2, node: node2), now: at(36))
        let second = try book.request(makeRequest("next-2", epoch: 2, node: node2), now: at(37))
        #expect(first.grants.map(\.agent) == [carol])
        #expect(second.grants.map(\.agent) == [alice])
    }

    @Test func aLogOutAskedForDuringTheCallTakesEffectWhenItIsEnded() throws {
        var book = try bookWithTwoCalls()
        _ = try book.logOut(alice, now: at(20))
        guard case .onCall = book.agent(alice)?.state else {
            Issue.record("the log-out did not wait for the call")
            return
        }
        _ = book.nodeLost(node1, now: at(21))
        _ = book.endLostCalls(book.connectedCalls(ofNode: node1).map(\.request.id), now: at(30))
        #expect(book.agent(alice)?.state == .loggedOut)
    }

    @Test func aZeroWrapUpMakesTheAgentAvailableAndMatchedAtOnce() throws {
        var configuration = ReservationBook.Configuration()
        configuration.wrapUpLength = .zero
        var book = try bookWithReadyAgents([(alice, 1)], configuration: configuration)
        _ = try book.request(makeRequest("n1-call"), now: at(10))
        _ = try book.confirm(RequestID("n1-call"), epoch: Epoch(1), now: at(11))
        // A request of the new owner waits: alice is the only agent.
        let waiting = try book.request(makeRequest("new", epoch: 2, node: node2), now: at(20))
        #expect(waiting.grants.isEmpty)
        let (_, actions) = book.endLostCalls([RequestID("n1-call")], now: at(30))
        #expect(actions.grants.map(\.agent) == [alice])
        #expect(actions.grants.map(\.request) == [RequestID("new")])
    }
}
