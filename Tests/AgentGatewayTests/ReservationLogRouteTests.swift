import DialerCore
import DialerTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentGateway

@Suite("Gateway: the reservation log over HTTP")
struct ReservationLogRouteTests {
    struct Body: Decodable {
        struct Entry: Decodable {
            var momentMs: Int64
            var request: String
            var event: String
        }
        var nowMs: Int64
        var truncated: Bool
        var entries: [Entry]
    }

    let clock = ManualClock()

    /// A service whose log holds `ann`'s grant of r1 and, five seconds later, `bob`'s of r2.
    func serviceWithTwoGrants() async throws -> ReservationService {
        let service = ReservationService(
            settings: .init(book: .init(outboundLease: .seconds(10), wrapUpLength: .seconds(30))),
            clock: clock, logger: testLogger)
        let node = RecordingSink()
        let connection = await service.nodeConnected(MemberID("node-1"), sink: node)
        for agent in ["ann", "bob"] {
            _ = try await service.logIn(
                AgentID(agent), skills: AgentSkills([QueueID("sales"): 1]), outbox: AgentOutbox())
            _ = try await service.makeReady(AgentID(agent))
        }
        try await service.request(
            request("r1", deadline: clock.now() + .seconds(60)), contact: nil, connection: connection)
        clock.advance(by: .seconds(5))
        try await service.request(
            request("r2", deadline: clock.now() + .seconds(60)), contact: nil, connection: connection)
        clock.advance(by: .seconds(1))
        return service
    }

    func decode(_ buffer: ByteBuffer) throws -> Body {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Body.self, from: Data(buffer.readableBytesView))
    }

    @Test func sinceMsSendsOnlyWhatIsNewAndBadValuesAreRefused() async throws {
        let service = try await serviceWithTwoGrants()
        let router = Router()
        ReservationLogRoute.add(to: router, reservations: service, clock: clock)
        let app = Application(router: router)
        try await app.test(.router) { client in
            let whole = try await client.execute(uri: "/v1/reservations/log", method: .get) { response in
                #expect(response.status == .ok)
                return try decode(response.body)
            }
            #expect(whole.entries.map(\.request) == ["r1", "r2"])
            #expect(whole.entries.allSatisfy { $0.event == "granted" })
            #expect(!whole.truncated)

            let secondGrantMs = try #require(whole.entries.last?.momentMs)
            let fresh = try await client.execute(
                uri: "/v1/reservations/log?since_ms=\(secondGrantMs)", method: .get
            ) { response in
                #expect(response.status == .ok)
                return try decode(response.body)
            }
            #expect(fresh.entries.map(\.request) == ["r2"], "entries at or after since_ms only")
            #expect(fresh.nowMs >= secondGrantMs)

            let none = try await client.execute(uri: "/v1/reservations/log?since_ms=\(fresh.nowMs + 1)", method: .get) {
                try decode($0.body)
            }
            #expect(none.entries.isEmpty)

            for bad in ["-1", "abc", "1.5", "", "99999999999999999999", "9223372036855"] {
                try await client.execute(uri: "/v1/reservations/log?since_ms=\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "since_ms=\(bad)")
                    let text = String(buffer: response.body)
                    #expect(text.contains("invalid_request") && text.contains("since_ms"), "\(text)")
                }
            }
            // The gateway goes on serving after refusing.
            let again = try await client.execute(uri: "/v1/reservations/log?since_ms=0", method: .get) { response in
                #expect(response.status == .ok)
                return try decode(response.body)
            }
            #expect(again.entries.count == 2)
        }
    }
}
