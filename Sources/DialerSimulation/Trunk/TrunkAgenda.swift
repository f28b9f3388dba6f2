import DialerCore

/// The simulated trunk's future: what happens next, in order of moment, then of scheduling.
///
/// A binary min-heap, kept here rather than taken from HeapModule so that the trunk needs
/// nothing beyond DialerCore. Entries are never removed early: one that no longer applies
/// (the call ended, a newer timer replaced it) is skipped when it comes due.
struct TrunkAgenda {
    enum Action: Sendable {
        /// A network event of an outbound call (answer, busy, no answer ...). When `holdUntil`
        /// is set, the answered person hangs up then unless bridged first.
        case network(CallID, CallProgress, holdUntil: Moment?)
        /// The customer hangs up, unless `token` is no longer the call's customer token.
        case customerHangsUp(CallID, token: Int)
        /// A message ends, unless `token` is no longer the call's message token.
        case messageEnds(CallID, CallMessage, token: Int)
        /// The next call arrives on inbound line `line`.
        case arrival(line: Int)
    }

    struct Entry: Sendable {
        var moment: Moment
        var sequence: UInt64
        var action: Action

        func precedes(_ other: Entry) -> Bool {
            (moment, sequence) < (other.moment, other.sequence)
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }

    /// The earliest moment anything is scheduled for.
    var nextMoment: Moment? { entries.first?.moment }

    mutating func removeAll() { entries.removeAll() }

    /// Schedules `action` at `moment`; actions at one moment run in the order scheduled.
    mutating func schedule(_ action: Action, at moment: Moment) {
        entries.append(Entry(moment: moment, sequence: nextSequence, action: action))
        nextSequence += 1
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due by `now`.
    mutating func popDue(by now: Moment) -> Entry? {
        guard let first = entries.first, first.moment <= now else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return first }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count && entries[right].precedes(entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
