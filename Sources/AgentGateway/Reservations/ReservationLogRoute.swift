import DialerCore
import DialerRuntime
import Hummingbird
import NIOPosix

/// `GET /v1/reservations/log`: the gateway's recent grant log, oldest first, for audits (no
/// agent granted twice without a return or a call's end in between).
enum ReservationLogRoute {
    struct Body: Encodable {
        /// The moment of the answer, on the gateway's clock, in milliseconds: taken before the
        /// log is read, so a later read `since_ms` this value misses no entry.
        var nowMs: Int64
        /// Whether entries at or after `since_ms` (or any, without it) may have been dropped: the
        /// log keeps its newest entries only.
        var truncated: Bool
        var entries: [Entry]
    }

    /// The largest `since_ms` taken: its moment in nanoseconds fits in 64 bits.
    static let largestSinceMs = Int64.max / 1_000_000

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
        router.get("v1/reservations/log") { request, _ in
            // `since_ms`: only the entries at or after this moment of the gateway's clock (a
            // reader polling the log passes the last answer's `now_ms` and is sent what is new,
            // not the whole log again).
            var since = Moment(nanosecondsSinceOrigin: .min)
            if let text = request.uri.queryParameters.get("since_ms") {
                guard let sinceMs = Int64(text), (0...largestSinceMs).contains(sinceMs) else {
                    return try JSONResponse.make(
                        APIErrorBody(
                            error: "invalid_request",
                            message: "since_ms must be a whole number of milliseconds from 0 to \(largestSinceMs)"),
                        status: .badRequest)
                }
                since = Moment(nanosecondsSinceOrigin: sinceMs * 1_000_000)
            }
            let nowMs = clock.now().nanosecondsSinceOrigin / 1_000_000
            let log = await reservations.log(since: since)
            // Up to 10,000 entries in JSON hold a thread for tens of milliseconds: CPU-heavy work,
            // done off the cooperative pool (two threads on two cores), where every actor of the
            // gateway, the reservation service among them, would wait for it.
            return try await NIOThreadPool.singleton.runIfActive {
                try JSONResponse.make(
                    Body(nowMs: nowMs, truncated: log.truncated, entries: log.entries.map(Entry.init)))
            }
        }
    }
}
