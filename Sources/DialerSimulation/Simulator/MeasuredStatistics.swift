import DialerCore

extension Simulator {
    /// The last `capacity` values of a measured duration, with their summary.
    ///
    /// A window of recent calls rather than the whole day, as a queue runner keeps: a campaign's
    /// answer rate and call lengths drift through the day, and pacing must follow them.
    struct RecentDurations {
        private let capacity: Int
        private var values: [Double] = []
        private var next = 0
        private var cached: DistributionSummary?

        init(capacity: Int) {
            self.capacity = capacity
            values.reserveCapacity(capacity)
        }

        var count: Int { values.count }

        mutating func add(seconds: Double) {
            if values.count < capacity {
                values.append(seconds)
            } else {
                values[next] = seconds
                next = (next + 1) % capacity
            }
            cached = nil
        }

        /// Mean, standard deviation and percentiles of the window; `fallback` while it is empty.
        mutating func summary(fallback: DistributionSummary) -> DistributionSummary {
            if let cached { return cached }
            guard !values.isEmpty else { return fallback }
            let count = Double(values.count)
            let mean = values.reduce(0, +) / count
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, count - 1)
            let sorted = values.sorted()
            func percentile(_ p: Double) -> Duration {
                .seconds(sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1) + 0.5))])
            }
            let summary = DistributionSummary(
                mean: .seconds(mean),
                standardDeviation: values.count > 1 ? .seconds(variance.squareRoot()) : nil,
                p10: percentile(0.1),
                p50: percentile(0.5),
                p90: percentile(0.9)
            )
            cached = summary
            return summary
        }
    }

    /// What a queue runner measures of its campaign: the outcome of recent attempts and the
    /// durations of recent calls. Only what a real node can see goes in: outcomes when they are
    /// signalled, talk times when calls end, wrap-up times when agents finish them.
    struct MeasuredStatistics {
        private let capacity: Int
        /// Outcomes of the most recent resolved attempts (ring buffer).
        private var outcomes: [CallOutcome] = []
        private var next = 0
        private var live = 0
        private var machine = 0
        private var timeToAnswer: RecentDurations
        private var talk: RecentDurations
        private var wrapUp: RecentDurations
        /// The duration summaries as last refreshed, and when.
        private var summaries:
            (timeToAnswer: DistributionSummary, talk: DistributionSummary, wrapUp: DistributionSummary)
        private var refreshedAt: Moment?
        private static let defaults = CampaignStatistics()
        /// How often the duration summaries are recomputed. They move slowly (a thousand calls
        /// each), while sorting them for percentiles on every quarter-second tick would cost more
        /// than the pacing itself; counts and rates stay exact at every tick.
        static let refreshInterval = Duration.seconds(5)

        init(sample: Int) {
            capacity = sample
            timeToAnswer = RecentDurations(capacity: sample)
            talk = RecentDurations(capacity: sample)
            wrapUp = RecentDurations(capacity: sample)
            outcomes.reserveCapacity(sample)
            summaries = (Self.defaults.timeToAnswer, Self.defaults.talkTime, Self.defaults.wrapUpTime)
        }

        /// An attempt's outcome became known; `timeToAnswer` for live answers.
        mutating func recordAttempt(_ outcome: CallOutcome, timeToAnswer seconds: Double? = nil) {
            if outcomes.count < capacity {
                outcomes.append(outcome)
            } else {
                forget(outcomes[next])
                outcomes[next] = outcome
                next = (next + 1) % capacity
            }
            if outcome == .live { live += 1 }
            if outcome == .machine { machine += 1 }
            if let seconds { timeToAnswer.add(seconds: seconds) }
        }

        mutating func recordTalk(seconds: Double) { talk.add(seconds: seconds) }

        mutating func recordWrapUp(seconds: Double) { wrapUp.add(seconds: seconds) }

        private mutating func forget(_ outcome: CallOutcome) {
            if outcome == .live { live -= 1 }
            if outcome == .machine { machine -= 1 }
        }

        /// The statistics as pacing takes them at `now`, with the regulated window's counts.
        mutating func statistics(now: Moment, window: AbandonCounts) -> CampaignStatistics {
            if refreshedAt.map({ now - $0 >= Self.refreshInterval }) ?? true {
                refreshedAt = now
                summaries = (
                    timeToAnswer.summary(fallback: Self.defaults.timeToAnswer),
                    talk.summary(fallback: Self.defaults.talkTime),
                    wrapUp.summary(fallback: Self.defaults.wrapUpTime)
                )
            }
            let attempts = outcomes.count
            return CampaignStatistics(
                attempts: attempts,
                liveAnswers: live,
                answerRate: attempts > 0 ? Double(live) / Double(attempts) : 0,
                machineRate: attempts > 0 ? Double(machine) / Double(attempts) : 0,
                timeToAnswer: summaries.timeToAnswer,
                talkTime: summaries.talk,
                wrapUpTime: summaries.wrapUp,
                window: window
            )
        }
    }
}
