import DialerCore
import DialerRuntime
import Hummingbird
import NIOPosix

/// `GET /v1/reservations/log`: the gateway's recent grant log, oldest first, for audits (no
/// agent granted twice without a return or a call's end in between).
enum ReservationLogRoute {
    struct Body: Encodable {
        /// The moment of the answer, on the gateway's clock, in milliseconds.
        var nowMs: Int64
        var entries: [Entry]
    }

    struct Entry: Encodable, Sendable {
        var momentMs: Int64
        var agent: String
        var request: String
        var queue: String
        /// offered, granted, connected, returned or call-ended.
        var event: String
        /// Why a reservation returned.
        var reason: String?
        /// On offered and granted entries: when the request reached the gateway.
        var requestedMs: Int64?

        init(_ entry: ReservationLogEntry) {
            switch entry.event {
            case .offered: event = "offered"
            case .granted: event = "granted"
            case .connected: event = "connected"
            case .returned(let why):
                event = "returned"
                reason = why.wireName
            case .callEnded: event = "call-ended"
            }
            momentMs = entry.moment.nanosecondsSinceOrigin / 1_000_000
            agent = entry.agent.rawValue
            request = entry.request.rawValue
            queue = entry.queue.rawValue
            requestedMs = entry.requestedAt.map { $0.nanosecondsSinceOrigin / 1_000_000 }
        }
    }

    static func add<Context: RequestContext>(
        to router: Router<Context>, reservations: ReservationService, clock: any DialerClock
    ) {
        router.get("v1/reservations/log") { _, _ in
            let log = await reservations.log()
            let nowMs = clock.now().nanosecondsSinceOrigin / 1_000_000
            // Up to 10,000 entries in JSON hold a thread for tens of milliseconds: CPU-heavy work,
            // done off the cooperative pool (two threads on two cores), where every actor of the
            // gateway, the reservation service among them, would wait for it.
            return try await NIOThreadPool.singleton.runIfActive {
                try JSONResponse.make(Body(nowMs: nowMs, entries: log.map(Entry.init)))
            }
        }
    }
}
