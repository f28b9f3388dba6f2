import DialerCore

extension Simulator {
    /// Something that happens at a moment of virtual time.
    enum SimulationEvent {
        /// Agents get ready; dialing opens.
        case shiftStart(day: Int)
        /// Dialing closes; agents pause once the calls in flight are settled.
        case shiftEnd(day: Int)
        /// A timer the reservation book asked for (request deadline, lease, wrap-up end).
        case bookTimer(BookTimer)
        /// A connected call's talk ends; the agent goes to wrap-up.
        case talkEnds(call: Int)
        /// An attempt resolves: answered (live or machine), or busy, invalid, failed, no answer.
        case ringEnds(call: Int)
        /// The answering machine is recognised and the line freed.
        case machineDetected(call: Int)
        /// A live-answered customer, still without an agent, hangs up.
        case customerHangsUp(call: Int)
        /// The clairvoyant lays out the day's calls.
        case planDay(day: Int)
        /// The clairvoyant dials a contact it chose.
        case plannedDial(contact: Int)
        /// The runner asks the policy how many calls to start.
        case pacingTick

        /// The order of events at the same moment. Agents are freed before calls are answered, so
        /// that a call answered the very moment an agent finishes finds them (the clairvoyant
        /// relies on it); dialing closes before a tick at the closing moment could dial.
        var rank: Int {
            switch self {
            case .shiftStart: 0
            case .bookTimer: 1
            case .talkEnds: 2
            case .ringEnds: 3
            case .machineDetected: 4
            case .customerHangsUp: 5
            case .shiftEnd: 6
            case .planDay: 7
            case .plannedDial: 8
            case .pacingTick: 9
            }
        }
    }

    /// An event in the queue, ordered by moment, then rank, then the order it was scheduled in,
    /// so that a run is a pure function of its inputs.
    struct ScheduledEvent: Comparable {
        var moment: Moment
        var rank: Int
        var sequence: UInt64
        var event: SimulationEvent

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.moment, lhs.rank, lhs.sequence) < (rhs.moment, rhs.rank, rhs.sequence)
        }

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.sequence == rhs.sequence
        }
    }
}
