import DequeModule

/// The regulated abandon accounting of one campaign over a rolling window.
///
/// The rules bound the share of live-answered calls that are abandoned (not connected to an
/// agent within 2 s of the greeting) over a rolling period: 24 hours for Ofcom, 30 days for
/// the FTC. This value records each live answer with its outcome and answers the rate over
/// the last window at any moment, and the worst rate any window has reached so far. The
/// product feeds ``counts`` to pacing as ``CampaignStatistics/window``; the simulator uses the
/// same value to report what a policy actually achieved.
///
/// Each call is recorded once, at the moment it was answered, when its outcome is known
/// (connected or abandoned, at most the grace time later). Keying abandons by their answer
/// moment keeps a call's answer and its abandon entering and leaving the window together, so
/// the rate never jumps because half of one call has expired.
///
/// Memory grows with the live answers inside one window (16 bytes each).
public struct AbandonWindow: Sendable {
    /// The length of the rolling window.
    public let length: Duration
    /// The fewest live answers a window must hold to count for ``worstRate``: without it, the
    /// first abandon of the day would make the worst window 100 %.
    public let minimumLiveAnswersForWorst: Int

    /// Live answers in the window ending at ``latest``.
    public private(set) var liveAnswers = 0
    /// Abandons in the window ending at ``latest``.
    public private(set) var abandons = 0
    /// Live answers ever recorded.
    public private(set) var totalLiveAnswers = 0
    /// Abandons ever recorded.
    public private(set) var totalAbandons = 0
    /// The highest rate of any window (ending at any moment so far) with at least
    /// ``minimumLiveAnswersForWorst`` live answers, or `nil` if none qualified yet.
    public private(set) var worstRate: Double?
    /// The end of the window that had ``worstRate``.
    public private(set) var worstWindowEnd: Moment?
    /// The latest moment the window was advanced to.
    public private(set) var latest: Moment

    private struct Answer {
        var moment: Moment
        var abandoned: Bool
    }

    /// Answers inside the window, oldest first.
    private var answers: Deque<Answer> = []

    /// - Parameters:
    ///   - length: the rolling window (e.g. `.seconds(24 * 3600)`).
    ///   - minimumLiveAnswersForWorst: see ``minimumLiveAnswersForWorst``.
    ///   - start: the moment accounting starts.
    public init(length: Duration, minimumLiveAnswersForWorst: Int = 100, start: Moment = .origin) {
        precondition(length > .zero, "an abandon window needs a positive length")
        self.length = length
        self.minimumLiveAnswersForWorst = max(1, minimumLiveAnswersForWorst)
        self.latest = start
    }

    /// Records a live answer, answered at `answeredAt`, and whether it was abandoned.
    ///
    /// Calls are recorded when their outcome is known, so their answer moments may be slightly
    /// out of order; a moment before the window's start is clamped to it.
    public mutating func recordLiveAnswer(at answeredAt: Moment, abandoned: Bool) {
        advance(to: answeredAt)
        let moment = max(answeredAt, latest - length + .nanoseconds(1))
        // Outcomes arrive at most a few seconds late, so the slot is found near the back.
        var index = answers.count
        while index > 0, answers[index - 1].moment > moment { index -= 1 }
        answers.insert(Answer(moment: moment, abandoned: abandoned), at: index)
        liveAnswers += 1
        totalLiveAnswers += 1
        if abandoned {
            abandons += 1
            totalAbandons += 1
        }
        noteWorst(at: latest)
    }

    /// Moves the window's end to `now` (never backwards), expiring answers that left it.
    public mutating func advance(to now: Moment) {
        if now > latest { latest = now }
        let cutoff = latest - length
        // Rates are evaluated at each expiry, not just at `latest`: the rate rises whenever a
        // connected answer leaves the window, and the worst window may end at that instant.
        while let first = answers.first, first.moment <= cutoff {
            // Answers of one moment leave together; the states in between never existed.
            let moment = first.moment
            var connectedLeft = false
            while let next = answers.first, next.moment == moment {
                answers.removeFirst()
                liveAnswers -= 1
                if next.abandoned { abandons -= 1 } else { connectedLeft = true }
            }
            if connectedLeft { noteWorst(at: moment + length) }
        }
    }

    /// Abandons over live answers in the window ending at ``latest``; `nil` without answers.
    public var rate: Double? { liveAnswers > 0 ? Double(abandons) / Double(liveAnswers) : nil }

    /// Abandons over live answers over all time; `nil` without answers.
    public var totalRate: Double? {
        totalLiveAnswers > 0 ? Double(totalAbandons) / Double(totalLiveAnswers) : nil
    }

    /// The counts of the window ending at ``latest``, as pacing takes them.
    public var counts: AbandonCounts {
        AbandonCounts(window: length, liveAnswers: liveAnswers, abandons: abandons)
    }

    /// Advances to `now` and returns the counts of the window ending there.
    public mutating func counts(at now: Moment) -> AbandonCounts {
        advance(to: now)
        return counts
    }

    private mutating func noteWorst(at end: Moment) {
        guard liveAnswers >= minimumLiveAnswersForWorst, let rate else { return }
        if rate > (worstRate ?? -1) {
            worstRate = rate
            worstWindowEnd = end
        }
    }
}
