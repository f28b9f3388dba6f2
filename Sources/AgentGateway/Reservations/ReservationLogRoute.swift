import DialerCore
import DialerRuntime
import Hummingbird

/// `GET /v1/reservations/log`: the gateway's recent grant log, oldest first, for audits (no
/// agent granted twice without a return or a call's end in between).
enum ReservationLogRoute {
    struct Body: Encodable {
        /// The moment of the answer, on the gateway's clock, in milliseconds.
        var nowMs: Int64
        var entries: [Entry]
    }

    struct Entry: Encodable {
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
    }

    static func add<Context: RequestContext>(
        to router: Router<Context>, reservations: ReservationService, clock: any DialerClock
    ) {
        router.get("v1/reservations/log") { _, _ in
            let entries = await reservations.log().map { entry in
                var event = ""
                var reason: String?
                switch entry.event {
                case .offered: event = "offered"
                case .granted: event = "granted"
                case .connected: event = "connected"
                case .returned(let why):
                    event = "returned"
                    reason = why.wireName
                case .callEnded: event = "call-ended"
                }
                return Entry(
                    momentMs: entry.moment.nanosecondsSinceOrigin / 1_000_000, agent: entry.agent.rawValue,
                    request: entry.request.rawValue, queue: entry.queue.rawValue, event: event, reason: reason,
                    requestedMs: entry.requestedAt.map { $0.nanosecondsSinceOrigin / 1_000_000 })
            }
            return try JSONResponse.make(
                Body(nowMs: clock.now().nanosecondsSinceOrigin / 1_000_000, entries: entries))
        }
    }
}
