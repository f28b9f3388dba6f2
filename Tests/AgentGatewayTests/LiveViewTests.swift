import DialerCore
import DialerRuntime
import DialerTestSupport
import Foundation
import Testing

@testable import AgentGateway

@Suite("Gateway: the live view, built off the reservation actor")
struct LiveViewTests {
    let clock = ManualClock()

    @Test func theViewTakenOnTheActorAndBuiltElsewhereShowsAgentsAndQueues() async throws {
        let service = ReservationService(
            settings: .init(book: .init(outboundLease: .seconds(10), wrapUpLength: .seconds(30))),
            clock: clock, logger: testLogger)
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        await service.queueOwners([(queue: QueueID("sales"), owner: MemberID("node-1"), epoch: Epoch(1))])
        for agent in ["bob", "ann", "cid"] {
            _ = try await service.logIn(
                AgentID(agent), skills: AgentSkills([QueueID("sales"): 1]), outbox: AgentOutbox())
        }
        _ = try await service.makeReady(AgentID("ann"))
        clock.advance(by: .seconds(2))
        _ = try await service.makeReady(AgentID("bob"))
        clock.advance(by: .seconds(3))
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(60)), contact: nil, connection: connection)

        let source = await service.liveSource()
        // What the service does after the source was taken is not in the view built from it.
        _ = try await service.makeReady(AgentID("cid"))
        let view = source.view()
        #expect(view.agents.map(\.agent) == ["ann", "bob", "cid"], "every logged-in agent, by id")
        #expect(view.agents.map(\.state) == ["reserved", "available", "not-ready"])
        #expect(view.agents[1].timeInStateMs == 3_000)
        let sales = try #require(view.queues.first { $0.queue == "sales" })
        #expect(sales.available == 1 && sales.onCall == 0 && sales.waiting == 0)

        // The keys the manager's live panel reads (GatewayLiveBody in DialerManager).
        let json = String(decoding: try APIJSON.encoder().encode(view), as: UTF8.self)
        for key in ["\"time_in_state_ms\"", "\"longest_wait_ms\"", "\"on_call\"", "\"wrap_up\"", "\"calls\""] {
            #expect(json.contains(key), "\(key) in \(json)")
        }
    }
}
