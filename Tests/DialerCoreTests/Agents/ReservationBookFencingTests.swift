import DialerCore
import Testing

@Suite("Reservation book: epochs and lost nodes")
struct ReservationBookFencingTests: ReservationFixtures {
    @Test func aRequestWithAStaleEpochIsRejected() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.setQueueOwner(campaignA, node: node1, epoch: Epoch(3), now: at(2))
        let actions = try book.request(makeRequest("r1", epoch: 2), now: at(5))
        #expect(actions == [.rejected(RequestID("r1"), node: node1, reason: .staleEpoch(current: Epoch(3)))])
        #expect(book.agent(alice)?.state == .available(since: at(1)))
    }

    @Test func aRequestFromANonOwnerIsRejected() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let actions = try book.request(makeRequest("r1", node: node2), now: at(5))
        #expect(actions == [.rejected(RequestID("r1"), node: node2, reason: .notOwner(owner: node1))])
    }

    @Test func aRequestWithANewerEpochTakesTheQueueOver() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("old", epoch: 1, node: node1), now: at(2))
        let actions = try book.request(makeRequest("new", epoch: 2, node: node2), now: at(3))
        #expect(actions.rejections.map(\.0) == [RequestID("old")])
        #expect(actions.rejections.first?.1 == .ownerChanged)
        #expect(book.owner(of: campaignA) == QueueOwner(node: node2, epoch: Epoch(2)))
        #expect(book.heldRequest(RequestID("new"))?.status == .pending)
    }

    @Test func anUnknownQueueIsAdoptedFromTheFirstRequest() throws {
        var book = ReservationBook()
        let queue = QueueID("fresh")
        _ = try book.request(makeRequest("r1", queue: queue, epoch: 7, node: node2), now: at(1))
        #expect(book.owner(of: queue) == QueueOwner(node: node2, epoch: Epoch(7)))
    }

    @Test func setQueueOwnerRefusesOlderOrConflictingEpochs() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.setQueueOwner(campaignA, node: node1, epoch: Epoch(4), now: at(1))
        #expect(throws: ReservationError.staleEpoch(campaignA, current: Epoch(4), received: Epoch(3))) {
            try book.setQueueOwner(campaignA, node: node2, epoch: Epoch(3), now: at(2))
        }
        #expect(throws: ReservationError.epochConflict(campaignA, Epoch(4), owner: node1, claimant: node2)) {
            try book.setQueueOwner(campaignA, node: node2, epoch: Epoch(4), now: at(2))
        }
        #expect(try book.setQueueOwner(campaignA, node: node1, epoch: Epoch(4), now: at(2)).isEmpty)
    }

    @Test func anEpochChangeFencesTheOldOwnerButKeepsConnectedCalls() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2), (carol, 3)])
        _ = try book.request(makeRequest("connected"), now: at(10))  // alice
        _ = try book.confirm(RequestID("connected"), epoch: Epoch(1), now: at(11))
        _ = try book.request(makeRequest("granted"), now: at(12))  // bob
        _ = try book.request(makeRequest("callback", named: alice), now: at(13))  // pending
        _ = try book.request(makeRequest("other-queue", queue: inbound), now: at(14))  // carol
        let actions = try book.setQueueOwner(campaignA, node: node2, epoch: Epoch(2), now: at(20))
        #expect(actions.rejections.map(\.0) == [RequestID("callback")])
        #expect(actions.revocations.map(\.0) == [RequestID("granted")])
        #expect(actions.revocations.map(\.2) == [.ownerChanged])
        guard case .onCall = book.agent(alice)?.state else {
            Issue.record("a connected call was dropped")
            return
        }
        #expect(book.agent(bob)?.state == .available(since: at(2)))
        #expect(book.heldRequest(RequestID("other-queue"))?.status != nil)
        // The old owner's confirm is fenced; the call in progress still ends normally.
        #expect(throws: ReservationError.staleEpoch(campaignA, current: Epoch(1), received: Epoch(2))) {
            try book.confirm(RequestID("connected"), epoch: Epoch(2), now: at(21))
        }
        #expect(throws: ReservationError.unknownRequest(RequestID("granted"))) {
            try book.confirm(RequestID("granted"), epoch: Epoch(1), now: at(21))
        }
        _ = try book.callEnded(RequestID("connected"), now: at(30))
        guard case .wrapUp = book.agent(alice)?.state else {
            Issue.record("call end not applied")
            return
        }
    }

    @Test func aLostNodesRequestsAndGrantsEndButItsCallsStay() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2), (carol, 3)])
        _ = try book.request(makeRequest("n1-call"), now: at(10))  // alice
        _ = try book.confirm(RequestID("n1-call"), epoch: Epoch(1), now: at(11))
        _ = try book.request(makeRequest("n1-grant"), now: at(12))  // bob
        _ = try book.request(makeRequest("n2-grant", queue: campaignB, node: node2), now: at(13))  // carol
        _ = try book.request(makeRequest("n1-wait", queue: inbound), now: at(14))
        _ = try book.request(makeRequest("n2-wait", queue: campaignB, node: node2), now: at(15))
        let actions = book.nodeLost(node1, now: at(20))
        #expect(actions.rejections.map(\.0) == [RequestID("n1-wait")])
        #expect(actions.rejections.first?.1 == .nodeLost)
        #expect(actions.revocations.map(\.0) == [RequestID("n1-grant")])
        // Bob is free again and takes node 2's waiting request.
        #expect(actions.grants.map(\.request) == [RequestID("n2-wait")])
        #expect(actions.grants.map(\.agent) == [bob])
        #expect(book.heldRequest(RequestID("n1-call"))?.status == .connected(alice))
        #expect(book.heldRequest(RequestID("n2-grant"))?.status != nil)
    }
}

@Suite("Reservation book: preview offers")
struct ReservationBookPreviewTests: ReservationFixtures {
    @Test func anAcceptedOfferIsGrantedAndStaysReservedUntilConnected() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let requested = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))
        #expect(requested.grants.isEmpty)
        let offer = try #require(requested.offers.first)
        #expect(offer.agent == alice)
        #expect(offer.until == at(10) + book.configuration.offerTimeout)
        let offerTimer = try #require(requested.timer(for: .offer(RequestID("p1"))))
        #expect(book.heldRequest(RequestID("p1"))?.status == .offered(alice, until: offer.until))
        #expect(throws: ReservationError.requestNotGranted(RequestID("p1"))) {
            try book.confirm(RequestID("p1"), epoch: Epoch(1), now: at(11))
        }

        let accepted = try book.acceptOffer(alice, request: RequestID("p1"), now: at(12))
        #expect(accepted.grants.map(\.agent) == [alice])
        #expect(accepted.contains(.cancelTimer(offerTimer)))
        #expect(book.timerFired(offerTimer, now: at(30)).isEmpty)
        guard case .reserved(let reservation) = book.agent(alice)?.state,
            case .granted(let leaseUntil) = reservation.phase
        else {
            Issue.record("not reserved after accepting")
            return
        }
        #expect(leaseUntil == at(12) + book.configuration.previewLease)
        _ = try book.confirm(RequestID("p1"), epoch: Epoch(1), now: at(20))
        guard case .onCall = book.agent(alice)?.state else {
            Issue.record("not on call")
            return
        }
    }

    @Test func aRejectedOfferGoesToTheNextAgentAndNeverBack() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))  // alice
        _ = try book.request(makeRequest("p2", kind: .previewOffer), now: at(10))  // bob
        let rejected = try book.rejectOffer(alice, request: RequestID("p1"), now: at(11))
        #expect(rejected.offers.isEmpty)  // bob is busy with p2; alice skipped p1
        #expect(book.agent(alice)?.state == .available(since: at(11)))
        #expect(book.heldRequest(RequestID("p1"))?.skipped == [alice])
        let bobRejects = try book.rejectOffer(bob, request: RequestID("p2"), now: at(12))
        // p2 goes to alice; bob then takes p1 (which alice skipped).
        #expect(bobRejects.offers.map(\.agent) == [alice, bob])
        #expect(bobRejects.offers.map(\.request) == [RequestID("p2"), RequestID("p1")])
    }

    @Test func anUnansweredOfferPausesTheAgentAndGoesToTheNext() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        let requested = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))
        let offerTimer = try #require(requested.timer(for: .offer(RequestID("p1"))))
        let expired = book.timerFired(offerTimer, now: at(30))
        #expect(expired.withdrawals.map(\.2) == [.offerNotAnswered])
        #expect(expired.offers.map(\.agent) == [bob])
        #expect(book.agent(alice)?.state == .notReady(.offerNotAnswered, since: at(30)))
    }

    @Test func answeringSomeoneElsesOfferIsRefused() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))
        #expect(throws: ReservationError.noSuchOffer(bob, RequestID("p1"))) {
            try book.acceptOffer(bob, request: RequestID("p1"), now: at(11))
        }
        #expect(throws: ReservationError.noSuchOffer(bob, RequestID("p1"))) {
            try book.rejectOffer(bob, request: RequestID("p1"), now: at(11))
        }
    }

    @Test func theRequestDeadlineWithdrawsAnOpenOffer() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let requested = try book.request(makeRequest("p1", kind: .previewOffer, deadline: 15), now: at(10))
        let deadline = try #require(requested.timer(for: .requestDeadline(RequestID("p1"))))
        let fired = book.timerFired(deadline, now: at(15))
        #expect(fired.timeouts == [RequestID("p1")])
        #expect(fired.withdrawals.map(\.2) == [.requestTimedOut])
        #expect(book.agent(alice)?.state == .available(since: at(1)))
    }

    @Test func aNamedPreviewSkippedByItsAgentWaitsAndTimesOut() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        let requested = try book.request(makeRequest("p1", kind: .previewOffer, named: bob, deadline: 40), now: at(10))
        #expect(requested.offers.map(\.agent) == [bob])
        let rejected = try book.rejectOffer(bob, request: RequestID("p1"), now: at(11))
        #expect(rejected.offers.isEmpty)
        let deadline = try #require(requested.timer(for: .requestDeadline(RequestID("p1"))))
        #expect(book.timerFired(deadline, now: at(40)).timeouts == [RequestID("p1")])
    }

    @Test func pauseDuringAnOfferTakesEffectWhenItIsAnswered() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))
        _ = try book.pause(alice, reason: PauseReason("break"), now: at(11))
        guard case .reserved = book.agent(alice)?.state else {
            Issue.record("the pause dropped the offer")
            return
        }
        _ = try book.rejectOffer(alice, request: RequestID("p1"), now: at(12))
        #expect(book.agent(alice)?.state == .notReady(PauseReason("break"), since: at(12)))
    }

    @Test func disconnectingDuringAnOfferReturnsTheRequestToPending() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("p1", kind: .previewOffer), now: at(10))
        let lost = try book.agentDisconnected(alice, now: at(11))
        #expect(lost.withdrawals.map(\.2) == [.agentLost])
        #expect(book.heldRequest(RequestID("p1"))?.status == .pending)
        _ = try book.logIn(bob, skills: defaultSkills, now: at(12))
        #expect(try book.makeReady(bob, now: at(12)).offers.map(\.agent) == [bob])
    }
}

@Suite("Reservation book: queue picture")
struct QueuePictureTests: ReservationFixtures {
    @Test func thePictureListsAgentsByStateWithTimes() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2), (carol, 3)])
        _ = try book.logIn(AgentID("dave"), skills: AgentSkills([campaignA: 2]), now: at(0))
        _ = try book.logIn(AgentID("erin"), skills: AgentSkills([inbound: 1]), now: at(0))
        _ = try book.makeReady(AgentID("erin"), now: at(0))
        _ = try book.request(makeRequest("call"), now: at(10))  // alice
        _ = try book.confirm(RequestID("call"), epoch: Epoch(1), now: at(11))
        _ = try book.request(makeRequest("wrap", queue: inbound), now: at(12))  // erin (longest on inbound)
        _ = try book.confirm(RequestID("wrap"), epoch: Epoch(1), now: at(13))
        _ = try book.callEnded(RequestID("wrap"), wrapUp: .seconds(30), now: at(14))
        _ = try book.request(makeRequest("held", queue: campaignB, node: node2), now: at(15))  // bob
        _ = try book.request(makeRequest("wait", named: AgentID("dave")), now: at(16))

        let picture = book.picture(of: campaignA, now: at(20))
        #expect(picture.owner == QueueOwner(node: node1, epoch: Epoch(1)))
        #expect(picture.available.map(\.agent) == [carol])
        #expect(picture.available.first?.idle == .seconds(17))
        #expect(picture.reserved.map(\.agent) == [bob])
        #expect(picture.reservedForQueue == 0)  // bob is held by campaign B
        #expect(picture.onCall.map(\.agent) == [alice])
        #expect(picture.onCall.first?.talking == .seconds(9))
        #expect(picture.onCallForQueue == 1)
        #expect(picture.wrapUp.isEmpty)  // erin is not skilled for campaign A
        #expect(picture.notReady.map(\.agent) == [AgentID("dave")])
        #expect(picture.pending.map(\.request.id) == [RequestID("wait")])
        #expect(picture.pending.first?.waiting == .seconds(4))
        #expect(picture.loggedInCount == 4)

        let inboundPicture = book.picture(of: inbound, now: at(20))
        #expect(inboundPicture.wrapUp.map(\.agent) == [AgentID("erin")])
        #expect(inboundPicture.wrapUp.first?.elapsed == .seconds(6))
        #expect(inboundPicture.wrapUp.first?.remaining == .seconds(24))
        #expect(inboundPicture.wrapUpForQueue == 1)
    }

    /// The gateway takes a picture's source on its actor and builds the picture on another
    /// thread while the book goes on changing: the source must picture the book as it was.
    @Test func aPictureSourceKeepsTheBookAsItWasWhenTaken() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("wait", queue: inbound), now: at(3))  // alice
        _ = try book.request(makeRequest("ahead", queue: inbound), now: at(4))  // bob
        _ = try book.request(makeRequest("ahead-2", queue: inbound), now: at(5))  // waits
        let source = book.pictureSource(of: campaignA, now: at(6))
        let expected = book.picture(of: campaignA, now: at(6))
        #expect(source.memberCount == 2)
        #expect(expected.reserved.map(\.agent) == [alice, bob] && expected.pendingAhead == 1)

        // The book changes after the source was taken: a third agent, a call confirmed, a
        // request cancelled, the queue's owner moved on.
        _ = try book.logIn(carol, skills: defaultSkills, now: at(7))
        _ = try book.makeReady(carol, now: at(7))
        _ = try book.confirm(RequestID("wait"), epoch: Epoch(1), now: at(8))
        _ = try book.cancel(RequestID("ahead-2"), now: at(8))
        _ = try book.setQueueOwner(campaignA, node: node2, epoch: Epoch(2), now: at(9))

        #expect(source.picture() == expected)
        let now = book.picture(of: campaignA, now: at(9))
        #expect(now != expected && now.owner?.node == node2 && now.onCall.map(\.agent) == [alice])
        #expect(now.pendingAhead == 0)
    }
}
