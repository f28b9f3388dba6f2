import DialerCore
import Testing

@Suite("Reservation book: matching rules")
struct ReservationBookMatchingTests: ReservationFixtures {
    @Test func aRequestGoesToTheAgentAvailableLongest() throws {
        var book = try bookWithReadyAgents([(alice, 3), (bob, 1), (carol, 2)])
        let actions = try book.request(makeRequest("r1"), now: at(10))
        #expect(actions.grants.map(\.agent) == [bob])
        let grant = try #require(actions.grants.first)
        #expect(grant.leaseUntil == at(10) + book.configuration.outboundLease)
        #expect(book.heldRequest(RequestID("r1"))?.status == .granted(bob, leaseUntil: grant.leaseUntil))
        let next = try book.request(makeRequest("r2"), now: at(11))
        #expect(next.grants.map(\.agent) == [carol])
    }

    @Test func equalAvailableSinceIsBrokenByAgentID() throws {
        var book = try bookWithReadyAgents([(carol, 1), (bob, 1)])
        let actions = try book.request(makeRequest("r1"), now: at(10))
        #expect(actions.grants.map(\.agent) == [bob])
    }

    @Test func onlySkilledReadyAgentsAreEligible() throws {
        var book = try bookWithReadyAgents([(alice, 1)], skills: AgentSkills([campaignB: 1]))
        _ = try book.logIn(bob, skills: defaultSkills, now: at(0))  // logged in, not ready
        _ = try book.logIn(carol, skills: defaultSkills, now: at(0))
        _ = try book.makeReady(carol, now: at(0.5))
        _ = try book.pause(carol, reason: PauseReason("break"), now: at(2))
        let actions = try book.request(makeRequest("r1"), now: at(10))
        #expect(actions.grants.isEmpty)
        #expect(book.heldRequest(RequestID("r1"))?.status == .pending)
    }

    @Test func anInboundCallRoutedToACampaignIsTakenByThatCampaignsAgentsOnly() throws {
        // Alice serves only campaign A, Bob only the inbound line: a caller of campaign A who
        // rang the line is fenced by the line's queue but goes to Alice, now or when she frees.
        var book = try bookWithReadyAgents([(bob, 1)], skills: AgentSkills([inbound: 1]))
        _ = try book.logIn(alice, skills: AgentSkills([campaignA: 1]), now: at(0))
        var request = makeRequest("callback", queue: inbound, kind: .inboundCall)
        request.servingQueue = campaignA
        #expect(try book.request(request, now: at(10)).grants.isEmpty)
        #expect(book.heldRequest(RequestID("callback"))?.status == .pending)
        let ready = try book.makeReady(alice, now: at(11))
        #expect(ready.grants.map(\.agent) == [alice])
        #expect(ready.grants.first?.queue == inbound)
        // Fenced by the line's queue: a newer epoch of the line's queue takes it back.
        var stale = makeRequest("stale", queue: inbound, epoch: 0, kind: .inboundCall)
        stale.servingQueue = campaignA
        #expect(try book.request(stale, now: at(12)).rejections.map(\.0) == [RequestID("stale")])
    }

    @Test func aRequestWithNoAgentWaitsThenTimesOut() throws {
        var book = try bookWithReadyAgents([])
        let actions = try book.request(makeRequest("r1", deadline: 30), now: at(10))
        let deadline = try #require(actions.timer(for: .requestDeadline(RequestID("r1"))))
        #expect(actions.scheduled.first?.at == at(30))
        let fired = book.timerFired(deadline, now: at(30))
        #expect(fired.timeouts == [RequestID("r1")])
        #expect(book.heldRequest(RequestID("r1")) == nil)
        // The same timer again (a duplicate delivery) does nothing: answered exactly once.
        #expect(book.timerFired(deadline, now: at(31)).isEmpty)
    }

    @Test func aRequestWhoseDeadlineHasPassedIsAnsweredTimedOutAtOnce() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let actions = try book.request(makeRequest("r1", deadline: 5), now: at(10))
        #expect(actions == [.timedOut(RequestID("r1"), node: node1)])
        #expect(book.agent(alice)?.state == .available(since: at(1)))
    }

    @Test func aWaitingRequestIsGrantedWhenAnAgentBecomesReady() throws {
        var book = try bookWithReadyAgents([])
        let requested = try book.request(makeRequest("r1", deadline: 30), now: at(10))
        let deadline = try #require(requested.timer(for: .requestDeadline(RequestID("r1"))))
        _ = try book.logIn(alice, skills: defaultSkills, now: at(11))
        let ready = try book.makeReady(alice, now: at(12))
        #expect(ready.grants.map(\.request) == [RequestID("r1")])
        #expect(ready.contains(.cancelTimer(deadline)))
        // The deadline timer, had it not been cancelled, is stale now.
        #expect(book.timerFired(deadline, now: at(30)).isEmpty)
    }

    @Test func aFreedAgentTakesInboundBeforeCampaignByDefault() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("campaign-old", queue: campaignA), now: at(1))
        _ = try book.request(makeRequest("inbound-new", queue: inbound), now: at(5))
        _ = try book.logIn(alice, skills: defaultSkills, now: at(6))
        let actions = try book.makeReady(alice, now: at(7))
        #expect(actions.grants.map(\.request) == [RequestID("inbound-new")])
    }

    @Test func theRankingCanPutACampaignAboveInbound() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("inbound-old", queue: inbound), now: at(1))
        _ = try book.request(makeRequest("campaign-new", queue: campaignA), now: at(5))
        _ = try book.logIn(alice, skills: AgentSkills([inbound: 2, campaignA: 1]), now: at(6))
        let actions = try book.makeReady(alice, now: at(7))
        #expect(actions.grants.map(\.request) == [RequestID("campaign-new")])
    }

    @Test func equalRanksGoToTheOldestRequest() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("b-old", queue: campaignB, node: node2), now: at(1))
        _ = try book.request(makeRequest("a-new", queue: campaignA), now: at(2))
        _ = try book.request(makeRequest("a-newer", queue: campaignA), now: at(3))
        _ = try book.logIn(alice, skills: defaultSkills, now: at(4))
        let first = try book.makeReady(alice, now: at(5))
        #expect(first.grants.map(\.request) == [RequestID("b-old")])
        _ = try book.logIn(bob, skills: defaultSkills, now: at(4))
        let second = try book.makeReady(bob, now: at(6))
        #expect(second.grants.map(\.request) == [RequestID("a-new")])
    }

    @Test func aNamedRequestWaitsForThatAgentOnly() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let actions = try book.request(makeRequest("callback", named: bob), now: at(10))
        #expect(actions.grants.isEmpty)
        _ = try book.request(makeRequest("other"), now: at(11))  // alice takes this one
        _ = try book.logIn(carol, skills: defaultSkills, now: at(12))
        #expect(try book.makeReady(carol, now: at(12)).grants.isEmpty)
        _ = try book.logIn(bob, skills: defaultSkills, now: at(13))
        let ready = try book.makeReady(bob, now: at(14))
        #expect(ready.grants.map(\.request) == [RequestID("callback")])
        #expect(ready.grants.map(\.agent) == [bob])
    }

    @Test func aNamedAgentSkipsNamedRequestsForOthers() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("for-bob", queue: inbound, named: bob), now: at(1))
        _ = try book.request(makeRequest("anyone", queue: campaignA), now: at(2))
        _ = try book.logIn(alice, skills: defaultSkills, now: at(3))
        let ready = try book.makeReady(alice, now: at(3))
        #expect(ready.grants.map(\.request) == [RequestID("anyone")])
    }

    @Test func updatingSkillsLetsAnAvailableAgentTakeWaitingWork() throws {
        var book = try bookWithReadyAgents([(alice, 1)], skills: AgentSkills([campaignA: 1]))
        _ = try book.request(makeRequest("b", queue: campaignB, node: node2), now: at(2))
        let updated = try book.updateSkills(alice, skills: AgentSkills([campaignA: 1, campaignB: 1]), now: at(3))
        #expect(updated.grants.map(\.request) == [RequestID("b")])
    }

    @Test func duplicateRequestIDsAreRefusedWithoutASecondAnswer() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("r1"), now: at(1))
        let before = book
        #expect(throws: ReservationError.duplicateRequest(RequestID("r1"))) {
            try book.request(makeRequest("r1"), now: at(2))
        }
        #expect(book == before)
    }

    @Test func agentsFreedTogetherChooseLongestIdleFirst() throws {
        // Two agents hold grants from node 2; a request from node 1 waits. When node 2 is lost,
        // both return; the one idle longest before its reservation takes the waiting request.
        // Bob is reserved first (by name), so freeing in request order would favour him.
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("n2-a", queue: campaignB, node: node2, named: bob), now: at(5))
        _ = try book.request(makeRequest("n2-b", queue: campaignB, node: node2), now: at(6))
        _ = try book.request(makeRequest("n1-wait", queue: campaignA), now: at(7))
        let actions = book.nodeLost(node2, now: at(8))
        #expect(actions.revocations.map(\.1) == [bob, alice])
        #expect(actions.grants.map(\.agent) == [alice])
        #expect(book.agent(bob)?.state == .available(since: at(2)))
    }
}

@Suite("Reservation book: leases, pauses and calls")
struct ReservationBookLifecycleTests: ReservationFixtures {
    @Test func confirmPutsTheAgentOnTheCallAndTheLeaseTimerGoesStale() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        let requested = try book.request(makeRequest("r1"), now: at(10))
        let lease = try #require(requested.timer(for: .lease(RequestID("r1"))))
        let confirmed = try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(12))
        #expect(confirmed.contains(.cancelTimer(lease)))
        guard case .onCall(let call) = book.agent(alice)?.state else {
            Issue.record("not on call")
            return
        }
        #expect(call.connectedAt == at(12))
        #expect(book.timerFired(lease, now: at(70)).isEmpty)
        // Confirming again is a retried message: nothing changes.
        let before = book
        #expect(try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(13)).isEmpty)
        #expect(book == before)
    }

    @Test func anUnconfirmedGrantExpiresAndTheAgentKeepsTheirPlace() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        let requested = try book.request(makeRequest("r1"), now: at(10))
        let lease = try #require(requested.timer(for: .lease(RequestID("r1"))))
        let expired = book.timerFired(lease, now: at(70))
        #expect(expired.revocations.map(\.2) == [.leaseExpired])
        #expect(book.agent(alice)?.state == .available(since: at(1)))
        #expect(book.heldRequest(RequestID("r1")) == nil)
        #expect(throws: ReservationError.unknownRequest(RequestID("r1"))) {
            try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(71))
        }
        // Still first in line.
        #expect(try book.request(makeRequest("r2"), now: at(72)).grants.map(\.agent) == [alice])
    }

    @Test func releaseReturnsTheAgentWhoTakesWaitingWork() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.request(makeRequest("r2", queue: inbound), now: at(11))
        let released = try book.release(RequestID("r1"), now: at(12))
        #expect(released.revocations.isEmpty)
        #expect(released.grants.map(\.request) == [RequestID("r2")])
        guard case .reserved(let reservation) = book.agent(alice)?.state else {
            Issue.record("not reserved")
            return
        }
        #expect(reservation.availableSince == at(1))
    }

    @Test func releaseAndConfirmRefuseRequestsInTheWrongStatus() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("r1"), now: at(1))
        #expect(throws: ReservationError.requestNotGranted(RequestID("r1"))) {
            try book.release(RequestID("r1"), now: at(2))
        }
        #expect(throws: ReservationError.requestNotGranted(RequestID("r1"))) {
            try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(2))
        }
        #expect(throws: ReservationError.unknownRequest(RequestID("nope"))) {
            try book.release(RequestID("nope"), now: at(2))
        }
        _ = try book.logIn(alice, skills: defaultSkills, now: at(3))
        _ = try book.makeReady(alice, now: at(3))
        _ = try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(4))
        #expect(throws: ReservationError.requestConnected(RequestID("r1"))) {
            try book.release(RequestID("r1"), now: at(5))
        }
        #expect(throws: ReservationError.requestConnected(RequestID("r1"))) {
            try book.cancel(RequestID("r1"), now: at(5))
        }
    }

    @Test func cancelAnswersAPendingRequestOnce() throws {
        var book = try bookWithReadyAgents([])
        _ = try book.request(makeRequest("r1"), now: at(1))
        let cancelled = try book.cancel(RequestID("r1"), now: at(2))
        #expect(cancelled.rejections.map(\.0) == [RequestID("r1")])
        #expect(cancelled.rejections.first?.1 == .cancelled)
        #expect(throws: ReservationError.unknownRequest(RequestID("r1"))) {
            try book.cancel(RequestID("r1"), now: at(3))
        }
    }

    @Test func cancelAfterTheGrantReleasesWithoutASecondAnswer() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(1))
        let cancelled = try book.cancel(RequestID("r1"), now: at(2))
        #expect(cancelled.rejections.isEmpty && cancelled.timeouts.isEmpty && cancelled.grants.isEmpty)
        #expect(book.agent(alice)?.state == .available(since: at(1)))
    }

    @Test func pauseWhileReservedNeverDropsTheReservation() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1", kind: .connectAnsweredCall), now: at(10))
        let paused = try book.pause(alice, reason: PauseReason("break"), now: at(10.5))
        #expect(paused.revocations.isEmpty)
        #expect(book.agent(alice)?.pendingChange == .pause(PauseReason("break")))
        _ = try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(11))
        let ended = try book.callEnded(RequestID("r1"), wrapUp: .seconds(5), now: at(60))
        let wrapTimer = try #require(ended.timer(for: .wrapUp(alice)))
        _ = try book.request(makeRequest("r2"), now: at(61))
        let finished = book.timerFired(wrapTimer, now: at(65))
        #expect(book.agent(alice)?.state == .notReady(PauseReason("break"), since: at(65)))
        #expect(finished.grants.isEmpty)
    }

    @Test func pauseWhileReservedAppliesWhenTheNodeReleases() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.pause(alice, reason: PauseReason("break"), now: at(11))
        _ = try book.request(makeRequest("r2"), now: at(12))
        let released = try book.release(RequestID("r1"), now: at(13))
        #expect(released.grants.isEmpty)
        #expect(book.agent(alice)?.state == .notReady(PauseReason("break"), since: at(13)))
    }

    @Test func logOutWhileReservedIsDeferred() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.logOut(alice, now: at(11))
        #expect(book.agent(alice)?.pendingChange == .logOut)
        _ = try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(12))
        _ = try book.callEnded(RequestID("r1"), now: at(20))
        #expect(book.agent(alice)?.state == .loggedOut)
    }

    @Test func wrapUpEndsByTimerOrDispositionAndCanBeExtended() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.confirm(RequestID("r1"), epoch: Epoch(1), now: at(11))
        let ended = try book.callEnded(RequestID("r1"), now: at(20))
        let first = try #require(ended.timer(for: .wrapUp(alice)))
        #expect(ended.scheduled.last?.at == at(20) + book.configuration.wrapUpLength)
        let extended = try book.extendWrapUp(alice, by: .seconds(30), now: at(25))
        let second = try #require(extended.timer(for: .wrapUp(alice)))
        #expect(extended.contains(.cancelTimer(first)))
        #expect(extended.scheduled.last?.at == at(80))
        #expect(book.timerFired(first, now: at(50)).isEmpty)
        guard case .wrapUp = book.agent(alice)?.state else {
            Issue.record("wrap-up ended by a stale timer")
            return
        }
        let done = try book.finishWrapUp(alice, now: at(60))
        #expect(done.contains(.cancelTimer(second)))
        #expect(book.agent(alice)?.state == .available(since: at(60)))
        #expect(book.timerFired(second, now: at(80)).isEmpty)
    }

    @Test func callEndedRefusesCallsThatAreNotConnected() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        let reservedState = try #require(book.agent(alice)?.state)
        #expect(throws: ReservationError.notAllowed(.endCall, reservedState)) {
            try book.callEnded(RequestID("r1"), now: at(11))
        }
        #expect(throws: ReservationError.unknownRequest(RequestID("x"))) {
            try book.callEnded(RequestID("x"), now: at(11))
        }
    }

    @Test func unknownAgentsAreRefused() throws {
        var book = ReservationBook()
        #expect(throws: ReservationError.unknownAgent(alice)) { try book.makeReady(alice, now: at(1)) }
        #expect(throws: ReservationError.unknownAgent(alice)) { try book.pause(alice, reason: .loggedIn, now: at(1)) }
        #expect(throws: ReservationError.unknownAgent(alice)) { try book.agentDisconnected(alice, now: at(1)) }
    }

    @Test func disconnectRevokesAnUnconfirmedGrantButKeepsACall() throws {
        var book = try bookWithReadyAgents([(alice, 1), (bob, 2)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.request(makeRequest("r2"), now: at(10))
        _ = try book.confirm(RequestID("r2"), epoch: Epoch(1), now: at(11))
        let lostAlice = try book.agentDisconnected(alice, now: at(12))
        #expect(lostAlice.revocations.map(\.1) == [alice])
        #expect(lostAlice.revocations.map(\.2) == [.agentLost])
        #expect(book.agent(alice)?.state == .loggedOut)
        let lostBob = try book.agentDisconnected(bob, now: at(12))
        #expect(lostBob.revocations.isEmpty)
        #expect(book.agent(bob)?.pendingChange == .logOut)
        _ = try book.callEnded(RequestID("r2"), now: at(30))
        #expect(book.agent(bob)?.state == .loggedOut)
    }

    @Test func theLogRecordsEveryReservationStep() throws {
        var book = try bookWithReadyAgents([(alice, 1)])
        _ = try book.request(makeRequest("r1"), now: at(10))
        _ = try book.release(RequestID("r1"), now: at(11))
        _ = try book.request(makeRequest("r2"), now: at(12))
        _ = try book.confirm(RequestID("r2"), epoch: Epoch(1), now: at(13))
        _ = try book.callEnded(RequestID("r2"), now: at(14))
        #expect(
            book.log.map(\.event) == [.granted, .returned(.released), .granted, .connected, .callEnded]
        )
        #expect(book.log.map(\.moment) == [at(10), at(11), at(12), at(13), at(14)])
    }

    @Test func theLogKeepsOnlyItsCapacity() throws {
        var book = try bookWithReadyAgents([(alice, 1)], configuration: .init(logCapacity: 3))
        for index in 0..<20 {
            _ = try book.request(makeRequest("r\(index)"), now: at(Double(10 + index)))
            _ = try book.release(RequestID("r\(index)"), now: at(Double(10 + index)))
        }
        #expect(book.log.count == 3)
        #expect(book.log.last?.request == RequestID("r19"))
    }

    @Test func theLogSinceAMomentSaysWhenEntriesSinceThenWereDropped() throws {
        var book = try bookWithReadyAgents([(alice, 1)], configuration: .init(logCapacity: 4))
        #expect(book.log(since: at(0)).entries.isEmpty)
        #expect(!book.log(since: at(0)).truncated)
        for index in 0..<2 {
            _ = try book.request(makeRequest("r\(index)"), now: at(Double(10 + index)))
            _ = try book.release(RequestID("r\(index)"), now: at(Double(10 + index) + 0.5))
        }
        let fromEleven = book.log(since: at(11))
        #expect(fromEleven.entries.map(\.request) == [RequestID("r1"), RequestID("r1")])
        #expect(!fromEleven.truncated, "nothing dropped yet")
        #expect(book.log(since: at(0)).entries.count == 4)

        // Two more cycles push r0 and r1 out.
        for index in 2..<4 {
            _ = try book.request(makeRequest("r\(index)"), now: at(Double(10 + index)))
            _ = try book.release(RequestID("r\(index)"), now: at(Double(10 + index) + 0.5))
        }
        #expect(book.log(since: at(11)).truncated, "r1's entries, at or after 11, are gone")
        #expect(book.log(since: at(11)).entries.map(\.request).first == RequestID("r2"))
        let fromTwelve = book.log(since: at(12.5))
        #expect(!fromTwelve.truncated, "everything from 12.5 on is kept")
        #expect(fromTwelve.entries.map(\.moment) == [at(12.5), at(13), at(13.5)])
        #expect(book.log(since: at(99)).entries.isEmpty)
    }
}
