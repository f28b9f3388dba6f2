import DialerCore
public import FoundationEssentials

/// The length of a report's intervals.
public enum ReportInterval: String, CaseIterable, Sendable {
    case quarterHour = "15m"
    case hour
    case day

    /// The longest span a report of these intervals may cover: every report has at most a few
    /// thousand intervals per campaign or agent.
    var maximumSpanDays: Int {
        switch self {
        case .quarterHour: 31
        case .hour: 92
        case .day: 732
        }
    }
}

/// What a report's rows are per.
public enum ReportGrouping: String, CaseIterable, Sendable {
    case campaign
    case agent
}

/// A report's time line: the intervals from `from` to `to`, aligned to the interval in `zone`
/// (a day starts at local midnight, an hour and a quarter at the local clock's).
public struct ReportWindow: Sendable {
    public let from: Date
    public let to: Date
    public let zone: TimeZone
    public let interval: ReportInterval
    /// Unix seconds of each interval's start, ascending, then the last interval's end.
    let boundaries: [Double]

    /// - Throws: ``APIError`` naming `to` when the window is empty or longer than the
    ///   interval allows.
    init(from: Date, to: Date, zone: TimeZone, interval: ReportInterval) throws(APIError) {
        guard to > from else { throw APIError.invalid("to: must be after from") }
        let maximum = Double(interval.maximumSpanDays) * 86_400
        guard to.timeIntervalSince(from) <= maximum else {
            throw APIError.invalid(
                "to: a report of \(interval.rawValue) intervals covers at most \(interval.maximumSpanDays) days")
        }
        self.from = from
        self.to = to
        self.zone = zone
        self.interval = interval
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var boundaries: [Double] = []
        switch interval {
        case .day:
            var start = calendar.startOfDay(for: from)
            while start < to {
                boundaries.append(start.timeIntervalSince1970)
                guard let next = calendar.date(byAdding: .day, value: 1, to: start) else { break }
                start = calendar.startOfDay(for: next)
            }
            boundaries.append(start.timeIntervalSince1970)
        case .hour, .quarterHour:
            // Aligned on the local clock: in a zone 5:30 ahead of UTC, hours start at :30 UTC.
            let step = interval == .hour ? 3600.0 : 900.0
            let offset = Double(zone.secondsFromGMT(for: from))
            let local = from.timeIntervalSince1970 + offset
            var start = (local / step).rounded(.down) * step - offset
            while start < to.timeIntervalSince1970 {
                boundaries.append(start)
                start += step
            }
            boundaries.append(start)
        }
        self.boundaries = boundaries
    }

    /// The interval holding `unixSeconds`, if the window does.
    func intervalIndex(of unixSeconds: Double) -> Int? {
        guard unixSeconds >= from.timeIntervalSince1970, unixSeconds < to.timeIntervalSince1970 else { return nil }
        var low = 0
        var high = boundaries.count - 1
        // The last boundary at or before the instant.
        while low < high - 1 {
            let middle = (low + high) / 2
            if boundaries[middle] <= unixSeconds { low = middle } else { high = middle }
        }
        return low
    }
}

/// The counts of one interval for one campaign or agent.
public struct IntervalCounts: Sendable, Equatable {
    public var attempts = 0
    /// Attempts without a result yet.
    public var open = 0
    public var liveAnswers = 0
    public var connected = 0
    public var abandoned = 0
    public var machine = 0
    public var busy = 0
    public var noAnswer = 0
    public var invalidNumber = 0
    public var networkFailure = 0
    public var unknown = 0
    /// Abandoned calls by the cause their node reported (`unspecified` when none was).
    public var abandonedByCause: [String: Int] = [:]
    /// Calls with a bridge and an end recorded, and their talk time.
    public var talkCalls = 0
    public var talkMilliseconds: Int64 = 0
    /// Calls with an end and a disposition recorded, and the time from end to disposition.
    public var wrapCalls = 0
    public var wrapMilliseconds: Int64 = 0
    public var dispositions: [String: Int] = [:]

    mutating func add(_ row: AttemptRow) {
        attempts += 1
        switch row.outcome.flatMap(AttemptOutcome.init(rawValue:)) {
        case nil: open += 1
        case .connected: connected += 1
        case .abandoned:
            abandoned += 1
            abandonedByCause[row.abandonCause ?? "unspecified", default: 0] += 1
        case .machine: machine += 1
        case .busy: busy += 1
        case .noAnswer: noAnswer += 1
        case .invalidNumber: invalidNumber += 1
        case .networkFailure: networkFailure += 1
        case .unknown: unknown += 1
        }
        liveAnswers = connected + abandoned
        if let bridged = row.bridgedAt, let ended = row.callEndedAt, ended >= bridged {
            talkCalls += 1
            talkMilliseconds += Self.milliseconds(ended - bridged)
        }
        if let ended = row.callEndedAt, let disposed = row.dispositionAt, disposed >= ended {
            wrapCalls += 1
            wrapMilliseconds += Self.milliseconds(disposed - ended)
        }
        if let disposition = row.disposition { dispositions[disposition, default: 0] += 1 }
    }

    mutating func add(_ other: IntervalCounts) {
        attempts += other.attempts
        open += other.open
        connected += other.connected
        abandoned += other.abandoned
        liveAnswers = connected + abandoned
        machine += other.machine
        busy += other.busy
        noAnswer += other.noAnswer
        invalidNumber += other.invalidNumber
        networkFailure += other.networkFailure
        unknown += other.unknown
        abandonedByCause.merge(other.abandonedByCause, uniquingKeysWith: +)
        talkCalls += other.talkCalls
        talkMilliseconds += other.talkMilliseconds
        wrapCalls += other.wrapCalls
        wrapMilliseconds += other.wrapMilliseconds
        dispositions.merge(other.dispositions, uniquingKeysWith: +)
    }

    /// Whole milliseconds of a duration in seconds; a day at most per call, so a sum of a
    /// year of calls stays far inside `Int64`.
    private static func milliseconds(_ seconds: Double) -> Int64 {
        // The stored times may be anything a disk holds: no NaN or out-of-range value traps.
        guard seconds.isFinite else { return 0 }
        return Int64((min(max(seconds, 0), 86_400) * 1000).rounded())
    }
}

/// An interval report being added up, attempt by attempt: memory grows with the intervals and
/// campaigns or agents, never with the attempts.
public struct IntervalReport: Sendable {
    public struct Key: Hashable, Sendable {
        public var interval: Int
        /// The campaign or the agent (nil: attempts no agent took).
        public var group: String?
    }

    public let window: ReportWindow
    public let grouping: ReportGrouping
    public private(set) var cells: [Key: IntervalCounts] = [:]
    public private(set) var totals = IntervalCounts()

    init(window: ReportWindow, grouping: ReportGrouping) {
        self.window = window
        self.grouping = grouping
    }

    mutating func add(_ row: AttemptRow) {
        guard let interval = window.intervalIndex(of: row.startedAt) else { return }
        let key = Key(interval: interval, group: grouping == .campaign ? row.campaign : row.agent)
        cells[key, default: IntervalCounts()].add(row)
        totals.add(row)
    }

    /// The cells with attempts, by interval, then campaign or agent (attempts without an agent
    /// last).
    var rows: [(key: Key, counts: IntervalCounts)] {
        cells.sorted { left, right in
            if left.key.interval != right.key.interval { return left.key.interval < right.key.interval }
            switch (left.key.group, right.key.group) {
            case (let l?, let r?): return l < r
            case (_?, nil): return true
            default: return false
            }
        }.map { ($0.key, $0.value) }
    }
}
