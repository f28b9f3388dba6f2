import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Testing

@testable import AgentGateway

@Suite("Gateway: reservation service and agent sessions")
struct ReservationServiceTests {
    let clock = ManualClock()
    let sales = QueueID("sales")

    func makeService(pictureInterval: Duration = .milliseconds(100)) -> ReservationService {
        ReservationService(
            settings: .init(
                book: .init(outboundLease: .seconds(10), wrapUpLength: .seconds(30)), pictureInterval: pictureInterval),
            clock: clock, logger: testLogger)
    }

    /// Logs `agent` in through its own outbox and makes it ready.
    func readyAgent(
        _ agent: String, on service: ReservationService, ranks: [String: Int] = ["sales": 1], phone: String? = nil
    ) async throws -> RecordingSink {
        let sink = RecordingSink()
        let outbox = AgentOutbox()
        outbox.attach(1, sink)
        let skills = AgentSkills(Dictionary(uniqueKeysWithValues: ranks.map { (QueueID($0.key), $0.value) }))
        _ = try await service.logIn(AgentID(agent), skills: skills, outbox: outbox, phone: phone)
        _ = try await service.makeReady(AgentID(agent))
        return sink
    }

    @Test func aGrantCarriesThePhoneTheAgentGaveAtLogin() async throws {
        let service = makeService()
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        _ = try await readyAgent("ann", on: service, phone: "sip:1001@127.0.0.1:5062")
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        let answer = try #require(await node.next { $0.answer != nil }?.answer)
        #expect(answer.answer == .granted && answer.agentPhone == "sip:1001@127.0.0.1:5062")
    }

    @Test func aPhoneGivenAtLoginMustBeASIPURI() {
        #expect(AgentConnection.phoneProblem("") == nil)
        #expect(AgentConnection.phoneProblem("sip:1001@192.0.2.10:5062") == nil)
        #expect(AgentConnection.phoneProblem("tel:+4512345678") != nil)
        #expect(AgentConnection.phoneProblem("sip:1001") != nil)
        #expect(AgentConnection.phoneProblem("sip:10 01@host") != nil)
        #expect(AgentConnection.phoneProblem("sip:a@" + String(repeating: "h", count: 300)) != nil)
    }

    @Test func grantConfirmCallEndAndWrapUpReachNodeAndAgent() async throws {
        let service = makeService()
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        let desk = try await readyAgent("ann", on: service)
        var contact = Dialer_V1_ContactCard()
        contact.attempt = "attempt-1"
        contact.phone = "+15550001"
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: contact, connection: connection)

        let answer = try #require(await node.next { $0.answer != nil }?.answer)
        #expect(answer.answer == .granted && answer.agent == "ann" && answer.leaseMs == 10_000)
        #expect(await desk.next { $0.status?.state == "reserved" } != nil)

        try await service.confirm(RequestID("r1"), epoch: Epoch(1), from: MemberID("node-1"))
        let call = try #require(await desk.next { if case .agentCall = $0.message { true } else { false } })
        guard case .agentCall(let pushed) = call.message else { return }
        #expect(pushed.contact.phone == "+15550001" && pushed.request == "r1")

        try await service.callEnded(RequestID("r1"), from: MemberID("node-1"))
        #expect(await service.session(of: AgentID("ann"))?.state.name == "wrap-up")
        // The disposition of the attempt connected to ann ends the wrap-up at once.
        try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1"))
        let after = try await service.dispositionRecorded(AgentID("ann"), attempt: AttemptID("attempt-1"))
        #expect(after.state.name == "available")
        // A repeated call end is refused: the request is no longer held.
        await #expect(throws: OperationRefused.self) {
            try await service.callEnded(RequestID("r1"), from: MemberID("node-1"))
        }
    }

    @Test func wrapUpEndsOnTheInjectedClock() async throws {
        let service = makeService()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: RecordingSink())
        _ = try await readyAgent("ann", on: service)
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        try await service.confirm(RequestID("r1"), epoch: Epoch(1), from: MemberID("node-1"))
        let wrapUpEnds = clock.now() + .seconds(30)
        try await service.callEnded(RequestID("r1"), from: MemberID("node-1"))
        // The wrap-up timer is armed for 30 s after the call's end; a second short of it, it
        // still waits (a timer armed earlier would have been woken and removed by the advance).
        #expect(await eventually { clock.hasSleeper(until: wrapUpEnds) })
        clock.advance(by: .seconds(29))
        #expect(clock.hasSleeper(until: wrapUpEnds))
        #expect(await service.session(of: AgentID("ann"))?.state.name == "wrap-up")
        clock.advance(by: .seconds(1))
        #expect(await eventually { await service.session(of: AgentID("ann"))?.state.name == "available" })
    }

    @Test func unconfirmedGrantIsRevokedWhenTheLeaseEnds() async throws {
        let service = makeService()
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        _ = try await readyAgent("ann", on: service)
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        #expect(await node.next { $0.answer?.answer == .granted } != nil)
        clock.advance(by: .seconds(10))
        let revoked = await node.next { if case .grantRevoked = $0.message { true } else { false } }
        guard case .grantRevoked(let message)? = revoked?.message else {
            Issue.record("no revocation")
            return
        }
        #expect(message.request == "r1" && message.reason == "lease-expired")
        #expect(await service.session(of: AgentID("ann"))?.state.name == "available")
    }

    @Test func staleEpochAndOtherNodesAreRefused() async throws {
        let service = makeService()
        let node1 = RecordingSink()
        let node2 = RecordingSink()
        let c1 = await service.nodeConnected(MemberID("node-1"), sink: node1)
        let c2 = await service.nodeConnected(MemberID("node-2"), sink: node2)
        await service.queueOwners([(sales, MemberID("node-1"), Epoch(2))])
        let deadline = clock.now() + .seconds(5)

        try await service.request(request("old", epoch: 1, deadline: deadline), contact: nil, connection: c1)
        let stale = try #require(await node1.next { $0.answer != nil }?.answer)
        #expect(stale.answer == .rejected && stale.reason == "stale-epoch" && stale.currentEpoch == 2)

        try await service.request(
            request("thief", epoch: 2, node: "node-2", deadline: deadline), contact: nil, connection: c2)
        let notOwner = try #require(await node2.next { $0.answer != nil }?.answer)
        #expect(notOwner.answer == .rejected && notOwner.reason == "not-owner")

        // A pending request of node-1 cannot be cancelled by node-2.
        try await service.request(request("mine", epoch: 2, deadline: deadline), contact: nil, connection: c1)
        await #expect(throws: OperationRefused(.notOwner, "request mine was made by another node")) {
            try await service.cancel(RequestID("mine"), from: MemberID("node-2"))
        }
        // A newer epoch in the queue map rejects node-1's pending request.
        await service.queueOwners([(sales, MemberID("node-2"), Epoch(3))])
        let moved = try #require(await node1.next { $0.answer?.request == "mine" }?.answer)
        #expect(moved.answer == .rejected && moved.reason == "owner-changed")
    }

    @Test func losingTheNodesLastConnectionReturnsItsAgents() async throws {
        let service = makeService()
        let first = await service.nodeConnected(MemberID("node-1"), sink: RecordingSink())
        let second = await service.nodeConnected(MemberID("node-1"), sink: RecordingSink())
        _ = try await readyAgent("ann", on: service)
        try await service.request(request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: first)
        await service.nodeDisconnected(MemberID("node-1"), connection: first)
        #expect(await service.session(of: AgentID("ann"))?.state.name == "reserved")
        await service.nodeDisconnected(MemberID("node-1"), connection: second)
        #expect(await service.session(of: AgentID("ann"))?.state.name == "available")
    }

    @Test func agentOperationsOnOthersRequestsAreForbidden() async throws {
        let service = makeService()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: RecordingSink())
        _ = try await readyAgent("ann", on: service)
        _ = try await readyAgent("bob", on: service)
        try await service.request(
            request("p1", kind: .previewOffer, deadline: clock.now() + .seconds(60)), contact: nil,
            connection: connection)
        let held = try #require(await service.heldRequest(RequestID("p1")))
        guard case .offered(let offeredTo, _) = held.status else {
            Issue.record("not offered: \(held.status)")
            return
        }
        let other = offeredTo == AgentID("ann") ? AgentID("bob") : AgentID("ann")
        await #expect(throws: OperationRefused.self) {
            try await service.answerOffer(other, request: RequestID("p1"), accept: true)
        }
        do {
            _ = try await service.answerOffer(other, request: RequestID("p1"), accept: true)
        } catch {
            #expect(error.code == .forbidden)
        }
        do {
            _ = try await service.hangUp(offeredTo, request: RequestID("nothing"))
        } catch {
            #expect(error.code == .unknownRequest)
        }
        do {
            try await service.checkDisposition(other, attempt: AttemptID("unknown"))
        } catch {
            #expect(error.code == .unknownRequest)
        }
        let accepted = try await service.answerOffer(offeredTo, request: RequestID("p1"), accept: true)
        #expect(accepted.state.name == "reserved")
    }

    @Test func hangUpAsksTheNodeToEndTheCall() async throws {
        let service = makeService()
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        _ = try await readyAgent("ann", on: service)
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        do {
            _ = try await service.hangUp(AgentID("ann"), request: RequestID("r1"))
            Issue.record("hang-up before the call was accepted")
        } catch {
            #expect(error.code == .invalidState)
        }
        try await service.confirm(RequestID("r1"), epoch: Epoch(1), from: MemberID("node-1"))
        _ = try await service.hangUp(AgentID("ann"), request: RequestID("r1"))
        let hangup = await node.next { if case .hangupRequest = $0.message { true } else { false } }
        #expect(hangup != nil)
    }

    @Test func picturesGoToTheOwnerAtMostOncePerInterval() async throws {
        let service = makeService(pictureInterval: .milliseconds(100))
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        await service.queueOwners([(sales, MemberID("node-1"), Epoch(1))])
        let isPicture: @Sendable (Envelope) -> Bool = { if case .queuePicture = $0.message { true } else { false } }
        #expect(await node.next(where: isPicture) != nil)
        // Three changes inside one interval: nothing more until the interval has passed.
        _ = try await readyAgent("ann", on: service)
        _ = try await readyAgent("bob", on: service)
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        // Each change was awaited, and a due picture goes out from within the change: none went.
        // The changes armed the wake-up for the end of the interval instead.
        #expect(await eventually { clock.hasSleeper(until: clock.now() + .milliseconds(100)) })
        #expect(node.received.filter(isPicture).isEmpty)
        clock.advance(by: .milliseconds(100))
        let picture = await node.next(where: isPicture)
        guard case .queuePicture(let update)? = picture?.message else {
            Issue.record("no picture after the interval")
            return
        }
        #expect(update.available.count == 1 && update.reserved.count == 1 && update.reservedForQueue == 1)
        #expect(update.sequence == 2 && update.lease.epoch == 1)
    }

    @Test func pictureScheduleHoldsBackWithinTheInterval() {
        var schedule = PictureSchedule(interval: .milliseconds(100))
        let q = QueueID("q")
        schedule.markChanged(q)
        #expect(schedule.due(at: .origin).queues == [q])
        schedule.markChanged(q)
        let held = schedule.due(at: .origin + .milliseconds(40))
        #expect(held.queues.isEmpty && held.next == .origin + .milliseconds(100))
        #expect(schedule.due(at: .origin + .milliseconds(100)).queues == [q])
        #expect(schedule.due(at: .origin + .seconds(1)).queues.isEmpty)
    }

    /// A queue whose picture costs 30 ms (thousands of agents) gets its next picture no sooner
    /// than 300 ms later at a share of 0.1; once pictures are cheap again, the interval rules.
    @Test func aCostlyPictureSpacesTheQueuesNextOneOut() {
        var schedule = PictureSchedule(interval: .milliseconds(100), costShare: 0.1)
        let big = QueueID("big")
        let small = QueueID("small")
        schedule.markChanged(big)
        schedule.markChanged(small)
        #expect(schedule.due(at: .origin).queues == [big, small])
        schedule.pictureCost(big, .milliseconds(30))
        schedule.pictureCost(small, .milliseconds(2))
        #expect(schedule.gap(of: big) == .milliseconds(300))
        #expect(schedule.gap(of: small) == .milliseconds(100))
        schedule.markChanged(big)
        schedule.markChanged(small)
        let first = schedule.due(at: .origin + .milliseconds(100))
        #expect(first.queues == [small] && first.next == .origin + .milliseconds(300))
        #expect(schedule.due(at: .origin + .milliseconds(299)).queues.isEmpty)
        #expect(schedule.due(at: .origin + .milliseconds(300)).queues == [big])
        schedule.pictureCost(big, .milliseconds(1))
        schedule.markChanged(big)
        #expect(schedule.due(at: .origin + .milliseconds(400)).queues == [big])
    }

    @Test func aDroppedAgentKeepsTheirStateForTheGracePeriod() async throws {
        let service = makeService()
        let session = AgentSessionActor(
            agent: AgentID("ann"), service: service, authority: FakeAuthority(), clock: clock, grace: .seconds(30),
            logger: testLogger)
        _ = try await session.attach(1, sink: RecordingSink(), skills: AgentSkills([sales: 1]))
        _ = try await session.perform(.agentSetReady(.init()))
        await session.detach(1)
        clock.advance(by: .seconds(20))
        _ = try await session.attach(2, sink: RecordingSink(), skills: AgentSkills([sales: 1]))
        clock.advance(by: .seconds(20))
        // The first grace period's timer has run out and found the agent back.
        #expect(await eventually { await session.graceTimersRunOut == 1 })
        // Came back in time: still available, with the same session.
        #expect(await service.session(of: AgentID("ann"))?.state.name == "available")
        await session.detach(2)
        clock.advance(by: .seconds(30))
        #expect(await eventually { await service.session(of: AgentID("ann"))?.state.name == "logged-out" })
    }
}
