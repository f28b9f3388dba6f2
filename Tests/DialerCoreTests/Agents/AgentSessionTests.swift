import DialerCore
import Testing

@Suite("Agent session state machine")
struct AgentSessionTests: ReservationFixtures {
    private func readySession(at time: Double = 1) throws -> AgentSession {
        var session = AgentSession(id: alice)
        try session.logIn(skills: defaultSkills, now: at(0))
        try session.makeReady(now: at(time))
        return session
    }

    private func reservedSession(kind: RequestKind = .outboundReservation) throws -> AgentSession {
        var session = try readySession()
        try session.reserve(
            for: makeRequest("r1", kind: kind),
            phase: kind == .previewOffer ? .offered(until: at(30)) : .granted(leaseUntil: at(60)),
            now: at(5)
        )
        return session
    }

    @Test func logInStartsNotReadyThenReadyIsAvailableSinceNow() throws {
        var session = AgentSession(id: alice)
        #expect(session.state == .loggedOut)
        try session.logIn(skills: defaultSkills, now: at(1))
        #expect(session.state == .notReady(.loggedIn, since: at(1)))
        try session.makeReady(now: at(2))
        #expect(session.state == .available(since: at(2)))
        #expect(session.availableSince == at(2))
    }

    @Test func repeatedReadyKeepsThePlaceInLine() throws {
        var session = try readySession(at: 1)
        try session.makeReady(now: at(9))
        #expect(session.state == .available(since: at(1)))
    }

    @Test func invalidOperationsThrowAndChangeNothing() throws {
        var loggedOut = AgentSession(id: alice)
        #expect(throws: ReservationError.notAllowed(.pause, .loggedOut)) {
            try loggedOut.pause(PauseReason("break"), now: at(1))
        }
        #expect(throws: ReservationError.notAllowed(.makeReady, .loggedOut)) { try loggedOut.makeReady(now: at(1)) }
        #expect(throws: ReservationError.notAllowed(.logOut, .loggedOut)) { try loggedOut.logOut(now: at(1)) }
        #expect(throws: ReservationError.notAllowed(.updateSkills, .loggedOut)) {
            try loggedOut.updateSkills(defaultSkills)
        }
        #expect(loggedOut == AgentSession(id: alice))

        var ready = try readySession()
        let before = ready
        #expect(throws: ReservationError.notAllowed(.logIn, before.state)) {
            try ready.logIn(skills: defaultSkills, now: at(2))
        }
        #expect(throws: ReservationError.notAllowed(.finishWrapUp, before.state)) { try ready.finishWrapUp(now: at(2)) }
        #expect(throws: ReservationError.notAllowed(.extendWrapUp, before.state)) {
            try ready.extendWrapUp(by: .seconds(5))
        }
        #expect(throws: ReservationError.notAllowed(.connect, before.state)) {
            try ready.connect(RequestID("r1"), now: at(2))
        }
        #expect(throws: ReservationError.notAllowed(.endCall, before.state)) {
            try ready.endCall(RequestID("r1"), wrapUpLength: .seconds(1), now: at(2))
        }
        #expect(throws: ReservationError.notAllowed(.endReservation, before.state)) {
            try ready.endReservation(RequestID("r1"), availableSince: at(2), now: at(2))
        }
        #expect(ready == before)

        var paused = before
        try paused.pause(PauseReason("break"), now: at(3))
        let pausedState = paused.state
        #expect(throws: ReservationError.notAllowed(.reserve, pausedState)) {
            try paused.reserve(for: makeRequest("r1"), phase: .granted(leaseUntil: at(9)), now: at(3))
        }
    }

    @Test func reservationRemembersAvailableSinceAndGivesItBack() throws {
        var session = try reservedSession()
        guard case .reserved(let reservation) = session.state else {
            Issue.record("not reserved")
            return
        }
        #expect(reservation.availableSince == at(1))
        #expect(reservation.reservedAt == at(5))
        try session.endReservation(RequestID("r1"), availableSince: reservation.availableSince, now: at(8))
        #expect(session.state == .available(since: at(1)))
    }

    @Test func pauseWhileReservedIsDeferredUntilTheReservationEnds() throws {
        var session = try reservedSession()
        let tookEffect = try session.pause(PauseReason("break"), now: at(6))
        #expect(!tookEffect)
        #expect(session.pendingChange == .pause(PauseReason("break")))
        guard case .reserved = session.state else {
            Issue.record("the pause dropped the reservation")
            return
        }
        try session.endReservation(RequestID("r1"), availableSince: at(1), now: at(9))
        #expect(session.state == .notReady(PauseReason("break"), since: at(9)))
        #expect(session.pendingChange == nil)
    }

    @Test func pauseWhileOnCallTakesEffectAfterWrapUp() throws {
        var session = try reservedSession()
        try session.connect(RequestID("r1"), now: at(6))
        try session.pause(PauseReason("lunch"), now: at(7))
        try session.endCall(RequestID("r1"), wrapUpLength: .seconds(10), now: at(20))
        #expect(
            session.state
                == .wrapUp(WrapUp(queue: campaignA, request: RequestID("r1"), startedAt: at(20), endsAt: at(30))))
        try session.finishWrapUp(now: at(25))
        #expect(session.state == .notReady(PauseReason("lunch"), since: at(25)))
    }

    @Test func logOutWhileOnCallIsDeferredToTheCallsEnd() throws {
        var session = try reservedSession()
        try session.connect(RequestID("r1"), now: at(6))
        let loggedOut = try session.logOut(now: at(7))
        #expect(!loggedOut)
        #expect(session.pendingChange == .logOut)
        try session.endCall(RequestID("r1"), wrapUpLength: .seconds(10), now: at(20))
        #expect(session.state == .loggedOut)
    }

    @Test func readyWhileReservedWithdrawsAPendingPause() throws {
        var session = try reservedSession()
        try session.pause(PauseReason("break"), now: at(6))
        try session.makeReady(now: at(7))
        #expect(session.pendingChange == nil)
        try session.endReservation(RequestID("r1"), availableSince: at(1), now: at(9))
        #expect(session.state == .available(since: at(1)))
    }

    @Test func wrapUpCanBeExtendedAndEndedByReady() throws {
        var session = try reservedSession()
        try session.connect(RequestID("r1"), now: at(6))
        try session.endCall(RequestID("r1"), wrapUpLength: .seconds(10), now: at(20))
        try session.extendWrapUp(by: .seconds(15))
        guard case .wrapUp(let wrapUp) = session.state else {
            Issue.record("not in wrap-up")
            return
        }
        #expect(wrapUp.endsAt == at(45))
        #expect(wrapUp.length == .seconds(25))
        #expect(wrapUp.elapsed(at: at(30)) == .seconds(10))
        #expect(throws: ReservationError.negativeDuration(.seconds(-1))) { try session.extendWrapUp(by: .seconds(-1)) }
        try session.makeReady(now: at(33))
        #expect(session.state == .available(since: at(33)))
    }

    @Test func zeroWrapUpMakesTheAgentAvailableAtOnce() throws {
        var session = try reservedSession()
        try session.connect(RequestID("r1"), now: at(6))
        try session.endCall(RequestID("r1"), wrapUpLength: .zero, now: at(20))
        #expect(session.state == .available(since: at(20)))
    }

    @Test func previewOfferMustBeAcceptedBeforeItCanConnect() throws {
        var session = try reservedSession(kind: .previewOffer)
        let offered = session.state
        #expect(throws: ReservationError.notAllowed(.connect, offered)) {
            try session.connect(RequestID("r1"), now: at(6))
        }
        #expect(throws: ReservationError.noSuchOffer(alice, RequestID("other"))) {
            try session.acceptOffer(RequestID("other"), leaseUntil: at(60))
        }
        try session.acceptOffer(RequestID("r1"), leaseUntil: at(60))
        #expect(throws: ReservationError.noSuchOffer(alice, RequestID("r1"))) {
            try session.acceptOffer(RequestID("r1"), leaseUntil: at(60))
        }
        try session.connect(RequestID("r1"), now: at(7))
        guard case .onCall(let call) = session.state else {
            Issue.record("not on call")
            return
        }
        #expect(call.connectedAt == at(7))
        #expect(call.reservation.kind == .previewOffer)
    }

    @Test func logOutIsImmediateWhenNotBusy() throws {
        var session = try readySession()
        #expect(try session.logOut(now: at(3)))
        #expect(session.state == .loggedOut)
        try session.logIn(skills: AgentSkills([campaignB: 3]), now: at(4))
        #expect(session.skills.rank(for: campaignB) == 3)
        #expect(!session.skills.serves(inbound))
    }
}

@Suite("Agent skills")
struct AgentSkillsTests: ReservationFixtures {
    @Test func defaultRanksPutInboundAboveCampaigns() {
        let skills = AgentSkills.defaultRanks([campaignA: .campaign, inbound: .inbound, campaignB: .campaign])
        #expect(skills.rank(for: inbound) == 1)
        #expect(skills.rank(for: campaignA) == 2)
        #expect(skills.queuesByRank == [inbound, campaignA, campaignB])
    }

    @Test func rankingIsDataAndCanPutACampaignFirst() {
        var skills = AgentSkills([inbound: 2, campaignA: 1])
        #expect(skills.queuesByRank == [campaignA, inbound])
        skills.setRank(nil, for: campaignA)
        #expect(!skills.serves(campaignA))
        #expect(skills.queuesByRank == [inbound])
    }
}
