import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Testing

@testable import AgentGateway

/// The gateway's side of a node lost with calls bridged to agents: the calls end for the agents
/// when the node is known gone (its queue moved on, or it did not come back within the grace),
/// never while it may still come back; the agents can hang up, log out and send their
/// dispositions, which say the node was lost.
@Suite("Gateway: calls of a lost node")
struct NodeLossServiceTests {
    let clock = ManualClock()
    let sales = QueueID("sales")
    let node1 = MemberID("node-1")

    func makeService() -> ReservationService {
        ReservationService(
            settings: .init(
                book: .init(outboundLease: .seconds(10), wrapUpLength: .seconds(30)), nodeLossGrace: .seconds(10)),
            clock: clock, logger: testLogger)
    }

    /// Ann on a call of node-1 for attempt-1, the contact card shown with the confirm (as a
    /// progressive call's is); returns the node's connection number and ann's desktop.
    func annOnACall(_ service: ReservationService) async throws -> (connection: UInt64, desk: RecordingSink) {
        await service.queueOwners([(sales, node1, Epoch(1))])
        let connection = await service.nodeConnected(node1, sink: RecordingSink())
        let desk = RecordingSink()
        let outbox = AgentOutbox()
        outbox.attach(1, desk)
        _ = try await service.logIn(AgentID("ann"), skills: AgentSkills([sales: 1]), outbox: outbox)
        _ = try await service.makeReady(AgentID("ann"))
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(5)), contact: nil, connection: connection)
        var card = Dialer_V1_ContactCard()
        card.contact = "contact-1"
        card.attempt = "attempt-1"
        card.phone = "+15550001"
        try await service.confirm(RequestID("r1"), epoch: Epoch(1), from: node1, contact: card)
        let call = await desk.next { if case .agentCall = $0.message { true } else { false } }
        guard case .agentCall(let pushed)? = call?.message else {
            Issue.record("no call pushed to ann")
            return (connection, desk)
        }
        #expect(pushed.contact.attempt == "attempt-1" && pushed.contact.contact == "contact-1")
        return (connection, desk)
    }

    func state(_ service: ReservationService, _ agent: String = "ann") async -> String? {
        await service.session(of: AgentID(agent))?.state.name
    }

    /// A disposition for another agent's attempt is FORBIDDEN (found through the attempts'
    /// index, not a scan of every agent); once ann's disposition is recorded it is unknown.
    @Test func anotherAgentsDispositionForTheAttemptIsForbidden() async throws {
        let service = makeService()
        _ = try await annOnACall(service)
        _ = try await service.logIn(AgentID("bob"), skills: AgentSkills([sales: 1]), outbox: AgentOutbox())
        await #expect(throws: OperationRefused(.forbidden, "attempt attempt-1 belongs to another agent")) {
            try await service.checkDisposition(AgentID("bob"), attempt: AttemptID("attempt-1"))
        }
        #expect(try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1")) == false)
        _ = try await service.dispositionRecorded(AgentID("ann"), attempt: AttemptID("attempt-1"))
        do {
            try await service.checkDisposition(AgentID("bob"), attempt: AttemptID("attempt-1"))
            Issue.record("accepted")
        } catch {
            #expect(error.code == .unknownRequest)
        }
    }

    @Test func theQueueMovingOnEndsTheAbsentNodesCallAtOnce() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        await service.nodeDisconnected(node1, connection: connection)
        #expect(await state(service) == "on-call", "the node may come back within its lease")
        // The manager gave the queue to node-2 under a newer epoch: node-1's lease is over.
        await service.queueOwners([(sales, MemberID("node-2"), Epoch(2))])
        #expect(await state(service) == "wrap-up")
        #expect(try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1")))
    }

    @Test func anUnassignedQueueEndsItToo() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        await service.nodeDisconnected(node1, connection: connection)
        await service.queueOwners([(sales, nil, Epoch(1))])
        #expect(await state(service) == "wrap-up")
    }

    @Test func aNodeThatDoesNotComeBackWithinTheGraceLosesItsCalls() async throws {
        let service = makeService()
        let (connection, desk) = try await annOnACall(service)
        let graceEnds = clock.now() + .seconds(10)
        await service.nodeDisconnected(node1, connection: connection)
        // The grace's timer is armed; a second short of it, it has not fired.
        #expect(await eventually { clock.hasSleeper(until: graceEnds) })
        clock.advance(by: .seconds(9))
        #expect(clock.hasSleeper(until: graceEnds))
        #expect(await state(service) == "on-call")
        clock.advance(by: .seconds(1))
        #expect(await eventually { await state(service) == "wrap-up" })
        #expect(await desk.next { $0.status?.state == "wrap-up" } != nil, "ann's desktop is told")
        // Her disposition goes to the manager marked as a call whose node was lost, and ends
        // the wrap-up.
        #expect(try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1")))
        let after = try await service.dispositionRecorded(AgentID("ann"), attempt: AttemptID("attempt-1"))
        #expect(after.state.name == "available")
    }

    @Test func aNodeThatComesBackWithinTheGraceKeepsItsCalls() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        let graceEnds = clock.now() + .seconds(10)
        await service.nodeDisconnected(node1, connection: connection)
        #expect(await eventually { clock.hasSleeper(until: graceEnds) })
        clock.advance(by: .seconds(5))
        _ = await service.nodeConnected(node1, sink: RecordingSink())
        clock.advance(by: .seconds(20))
        // The grace ran out with the node back: it ended nothing.
        #expect(await eventually { await service.nodeLossGracesEnded == 1 })
        #expect(await state(service) == "on-call")
        // The queue map repeating its owner changes nothing either.
        await service.queueOwners([(sales, node1, Epoch(1))])
        #expect(await state(service) == "on-call")
        // The node ends the call itself; the disposition is an ordinary one.
        try await service.callEnded(RequestID("r1"), from: node1)
        #expect(try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1")) == false)
    }

    @Test func hangingUpACallWhoseNodeIsAbsentEndsItAtTheGateway() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        await service.nodeDisconnected(node1, connection: connection)
        let session = try await service.hangUp(AgentID("ann"), request: RequestID("r1"))
        #expect(session.state.name == "wrap-up", "nobody could end it at the node")
        #expect(try await service.checkDisposition(AgentID("ann"), attempt: AttemptID("attempt-1")))
    }

    @Test func aLogOutDuringTheCallTakesEffectWhenTheLostCallEnds() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        let pending = try await service.logOut(AgentID("ann"))
        #expect(pending.state.name == "on-call" && pending.pendingChange == .logOut)
        await service.nodeDisconnected(node1, connection: connection)
        await service.queueOwners([(sales, MemberID("node-2"), Epoch(2))])
        #expect(await state(service) == "logged-out")
    }

    @Test func theAgentTakesTheNewOwnersNextCall() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        await service.nodeDisconnected(node1, connection: connection)
        let node2 = RecordingSink()
        let second = await service.nodeConnected(MemberID("node-2"), sink: node2)
        await service.queueOwners([(sales, MemberID("node-2"), Epoch(2))])
        _ = try await service.dispositionRecorded(AgentID("ann"), attempt: AttemptID("attempt-1"))
        try await service.request(
            request("next", epoch: 2, node: "node-2", deadline: clock.now() + .seconds(5)), contact: nil,
            connection: second)
        let answer = try #require(await node2.next { $0.answer != nil }?.answer)
        #expect(answer.answer == .granted && answer.agent == "ann")
    }
}

extension NodeLossServiceTests {
    @Test func aNodeThatComesBackTooLateIsToldToHangUpTheCallsItLost() async throws {
        let service = makeService()
        let (connection, _) = try await annOnACall(service)
        await service.nodeDisconnected(node1, connection: connection)
        await service.queueOwners([(sales, MemberID("node-2"), Epoch(2))])
        #expect(await state(service) == "wrap-up")
        // The frozen process wakes and connects again: the customer must not stay on the line.
        let woken = RecordingSink()
        _ = await service.nodeConnected(node1, sink: woken)
        let hangup = await woken.next { if case .hangupRequest = $0.message { true } else { false } }
        guard case .hangupRequest(let message)? = hangup?.message else {
            Issue.record("no hang-up for the lost call")
            return
        }
        #expect(message.request == "r1")
        // Told once.
        let again = RecordingSink()
        _ = await service.nodeConnected(node1, sink: again)
        #expect(
            await again.next(timeout: .milliseconds(200)) {
                if case .hangupRequest = $0.message { true } else { false }
            } == nil)
    }
}
