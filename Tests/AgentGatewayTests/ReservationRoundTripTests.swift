import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Synchronization
import Testing

@testable import AgentGateway
@testable import DialerNode

/// The node times each request for an agent to its answer, and keeps the answers the gateway
/// gave on receipt (the reservation round trip) apart from those it held until an agent was free.
@Suite("Reservation round trip at the node", .serialized)
struct ReservationRoundTripTests {
    @Test func answersOnReceiptAreTimedApartFromHeldOnes() async throws {
        let harness = try await GatewayHarness()
        defer { Task { await harness.stop() } }
        _ = try await harness.service.logIn(
            AgentID("ann"), skills: AgentSkills([QueueID("sales"): 1]), outbox: AgentOutbox())
        _ = try await harness.service.makeReady(AgentID("ann"))
        await harness.service.queueOwners([(QueueID("sales"), MemberID("node-1"), Epoch(3))])
        let timings = Mutex<[GatewayReservations.Timing]>([])
        let client = GatewayReservations(prefix: "node-1-timed") { timing in
            timings.withLock { $0.append(timing) }
        }
        let connection = try await harness.connect("node-1", role: .node)
        try await connection.run { link, inbound in
            let reading = Task { try? await inbound.forEach { await client.receive($0) } }
            defer { reading.cancel() }
            await client.connected(link)
            // Ann is free: granted on receipt.
            let first = await client.makeRequestID()
            let granted = await client.request(
                .init(queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(5)),
                id: first)
            #expect(granted == .granted(agent: AgentID("ann"), lease: .seconds(60)))
            // The same id again while Ann's grant holds it: the gateway refuses the request
            // outright, with an error under its send's correlation id.
            let duplicate = await client.request(
                .init(queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(5)),
                id: first)
            #expect(duplicate == .rejected(reason: "request \(first) is already held", currentEpoch: nil))
            // A stale epoch: refused on receipt.
            let stale = await client.request(
                .init(queue: QueueID("sales"), epoch: Epoch(2), kind: .outboundReservation, deadline: .seconds(5)))
            #expect(stale == .rejected(reason: "stale-epoch", currentEpoch: Epoch(3)))
            // Ann is reserved: the next request waits until Ann is released, then is granted.
            let second = await client.makeRequestID()
            let waiting = Task {
                await client.request(
                    .init(
                        queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(30)),
                    id: second)
            }
            #expect(
                await waitForCondition(timeout: .seconds(30)) {
                    await harness.service.heldRequest(second) != nil
                })
            // Asking again under the id still waiting is refused here, without a send.
            let again = await client.request(
                .init(queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(30)),
                id: second)
            #expect(
                again == .rejected(reason: "request \(second) is already waiting for its answer", currentEpoch: nil))
            try await client.release(first)
            #expect(await waiting.value == .granted(agent: AgentID("ann"), lease: .seconds(60)))
            try await client.release(second)
        }
        let recorded = timings.withLock { $0 }
        #expect(recorded.map(\.held) == [false, false, false, true])
        #expect(recorded.allSatisfy { $0.roundTrip > .zero })
        // The gateway timed its part of the two it answered at once (the grant and the stale
        // epoch's refusal); the duplicate was refused outright and the last one held.
        let atGateway = harness.answersAtGateway.all
        #expect(atGateway.count == 2)
        #expect(atGateway.allSatisfy { $0 > .zero })
    }
}
