import DialerCore
import DialerRuntime
public import Foundation
import NIOCore

/// The subscribers of the supervisor's live panel (`GET /v1/live/events`): each gets the
/// snapshots as server-sent events through a bounded buffer. A client that does not read fast
/// enough to take a snapshot when the buffer is full is dropped (its stream ends), never
/// buffered without bound; the panel reconnects and starts again from the latest snapshot.
public actor LiveFeed {
    /// Events buffered per client before it counts as too slow.
    public let bufferedEvents: Int
    private var clients: [UInt64: AsyncStream<String>.Continuation] = [:]
    private var nextClient: UInt64 = 1
    private var nextEvent: UInt64 = 1
    private var latest: String?
    /// Clients dropped for reading too slowly since start.
    public private(set) var dropped = 0

    public init(bufferedEvents: Int = 4) {
        self.bufferedEvents = max(1, bufferedEvents)
    }

    /// Whether anyone listens: snapshots are built only then.
    public var hasSubscribers: Bool { !clients.isEmpty }

    /// A new client: its stream starts with the latest snapshot, if there is one.
    public func subscribe() -> (id: UInt64, events: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: String.self, bufferingPolicy: .bufferingOldest(bufferedEvents))
        let id = nextClient
        nextClient += 1
        clients[id] = continuation
        // Tells EventSource-style clients to retry after 2 s, then the latest snapshot at once.
        continuation.yield("retry: 2000\n\n")
        if let latest { continuation.yield(latest) }
        return (id, stream)
    }

    /// Ends client `id`'s stream from anywhere (a continuation may be finished from any
    /// thread): the HTTP response ends at once, and ``unsubscribe(_:)`` forgets the client.
    public func ender(of id: UInt64) -> @Sendable () -> Void {
        guard let continuation = clients[id] else { return {} }
        return { continuation.finish() }
    }

    /// The client went away.
    public func unsubscribe(_ id: UInt64) {
        clients.removeValue(forKey: id)?.finish()
    }

    /// Sends `json` as a `snapshot` event to every client; clients whose buffer is full are dropped.
    public func publish(snapshot json: String) {
        let event = "id: \(nextEvent)\nevent: snapshot\ndata: \(json)\n\n"
        nextEvent += 1
        latest = event
        for (id, continuation) in clients {
            if case .dropped = continuation.yield(event) {
                clients[id] = nil
                continuation.finish()
                dropped += 1
            }
        }
    }

    /// Ends every stream (shutdown).
    public func finishAll() {
        for continuation in clients.values { continuation.finish() }
        clients = [:]
    }
}

/// Per-minute figures over the last hour, built from samples of cumulative counts: each sample
/// adds what grew since the previous one to the minute it falls in. A value type, no I/O.
public struct MinuteHistory: Sendable {
    /// Cumulative counts at one moment (summed over campaigns).
    public struct Totals: Sendable, Equatable {
        public var attempts = 0
        public var connects = 0
        public var liveAnswers = 0
        public var abandons = 0
        public init(attempts: Int = 0, connects: Int = 0, liveAnswers: Int = 0, abandons: Int = 0) {
            self.attempts = attempts
            self.connects = connects
            self.liveAnswers = liveAnswers
            self.abandons = abandons
        }
    }

    /// One minute of the chart.
    public struct Minute: Sendable, Equatable, Encodable {
        /// The minute's start.
        public var minute: Date
        public var attempts = 0
        public var connects = 0
        public var liveAnswers = 0
        public var abandons = 0
        /// Abandons over live answers in this minute; `nil` without live answers.
        public var abandonRate: Double? { liveAnswers == 0 ? nil : Double(abandons) / Double(liveAnswers) }
        var occupancySum = 0.0
        var occupancySamples = 0
        /// Busy agents over staffed agents, averaged over the minute's samples.
        public var occupancy: Double? { occupancySamples == 0 ? nil : occupancySum / Double(occupancySamples) }

        private enum CodingKeys: String, CodingKey {
            case minute, attempts, connects, liveAnswers, abandons, abandonRate, occupancy
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(minute, forKey: .minute)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(connects, forKey: .connects)
            try container.encode(liveAnswers, forKey: .liveAnswers)
            try container.encode(abandons, forKey: .abandons)
            try container.encode(abandonRate, forKey: .abandonRate)
            try container.encode(occupancy, forKey: .occupancy)
        }
    }

    /// Oldest first, at most ``length``.
    public private(set) var minutes: [Minute] = []
    public let length: Int
    private var last: Totals?

    public init(length: Int = 60) {
        self.length = max(1, length)
    }

    /// Adds a sample taken at `date`. `occupancy` is busy over staffed agents now, if any are staffed.
    public mutating func sample(_ totals: Totals, occupancy: Double?, at date: Date) {
        let start = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60)
        if minutes.last?.minute != start {
            minutes.append(Minute(minute: start))
            if minutes.count > length { minutes.removeFirst(minutes.count - length) }
        }
        var current = minutes[minutes.count - 1]
        if let last {
            // A deleted campaign takes its counts away: growth only.
            current.attempts += max(0, totals.attempts - last.attempts)
            current.connects += max(0, totals.connects - last.connects)
            current.liveAnswers += max(0, totals.liveAnswers - last.liveAnswers)
            current.abandons += max(0, totals.abandons - last.abandons)
        }
        if let occupancy {
            current.occupancySum += occupancy
            current.occupancySamples += 1
        }
        minutes[minutes.count - 1] = current
        last = totals
    }
}
