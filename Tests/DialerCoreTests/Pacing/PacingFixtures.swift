import DialerCore

/// Builders for scripted queue pictures, so each test states only what it varies.
enum PacingFixture {
    static func input(
        now: Double = 1000,
        available: Int = 0,
        reserved: Int = 0,
        onCall: [Double] = [],
        wrapUp: [Double] = [],
        paused: Int = 0,
        dialing: Int = 0,
        waiting: Int = 0,
        inIVR: Int = 0,
        statistics: CampaignStatistics = CampaignStatistics(),
        limits: PacingLimits = PacingLimits()
    ) -> PacingInput {
        PacingInput(
            now: .origin + .seconds(now),
            agents: AgentPicture(
                available: Array(repeating: .seconds(5), count: available),
                reserved: reserved,
                onCall: onCall.map { .seconds($0) },
                wrapUp: wrapUp.map { .seconds($0) },
                paused: paused
            ),
            calls: CallsInFlight(dialing: dialing, answeredWaiting: waiting, inIVR: inIVR),
            statistics: statistics,
            limits: limits
        )
    }

    /// A campaign measured well enough for predictive pacing to trust its model.
    static func measured(
        answerRate: Double = 0.3,
        attempts: Int = 5000,
        windowLiveAnswers: Int = 200,
        windowAbandons: Int = 0,
        timeToAnswer: Double = 12,
        talkMean: Double = 60,
        talkDeviation: Double = 15,
        wrapUp: Double = 3,
        wrapUpDeviation: Double = 0
    ) -> CampaignStatistics {
        CampaignStatistics(
            attempts: attempts,
            liveAnswers: Int(Double(attempts) * answerRate),
            answerRate: answerRate,
            machineRate: 0.1,
            timeToAnswer: DistributionSummary(mean: .seconds(timeToAnswer), standardDeviation: .seconds(3)),
            talkTime: DistributionSummary(mean: .seconds(talkMean), standardDeviation: .seconds(talkDeviation)),
            wrapUpTime: DistributionSummary(mean: .seconds(wrapUp), standardDeviation: .seconds(wrapUpDeviation)),
            window: AbandonCounts(
                window: .seconds(24 * 3600),
                liveAnswers: windowLiveAnswers,
                abandons: windowAbandons
            )
        )
    }
}
