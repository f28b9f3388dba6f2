import DialerSimulation
import Foundation
import Testing

/// A floor large enough that every policy leaves its warm-up and predictive runs its model
/// (agents talking and wrapping up at every tick), small enough for a debug build.
///
/// Its report below was written by the simulator before it was made faster (commit 63110c6:
/// the book's `QueuePicture` at every tick, an `erfc` per agent and slice for the wrap-up):
/// the faster simulator must give it to the last digit.
private let floor = Scenario(
    name: "speed-reference",
    seed: 11,
    agents: 12,
    shiftHours: 1,
    outcomes: OutcomeMix(live: 0.3, machine: 0.15, busy: 0.05, noAnswer: 0.4, invalid: 0.06, failed: 0.04),
    timeToAnswerSeconds: .logNormal(mean: 10, standardDeviation: 5),
    talkSeconds: .logNormal(mean: 90, standardDeviation: 70),
    wrapUpSeconds: .logNormal(mean: 15, standardDeviation: 8),
    machineDetectionSeconds: .logNormal(mean: 3, standardDeviation: 1),
    patienceSeconds: .logNormal(mean: 6, standardDeviation: 4),
    targetAbandonRate: 0.03,
    pacingIntervalSeconds: 1,
    statisticsSample: 200
)

@Suite("dialer-sim speed")
struct SimulatorSpeedTests {
    @Test func theReportIsTheOneTheSimulatorGaveBeforeItWasMadeFaster() async {
        let report = await Simulator(scenario: floor).compare(parallelism: 2)
        #expect(report.json() == referenceReport)
    }

    @Test(arguments: [1, 2] as [UInt64])
    func theLedgerShowsPacingWhatTheBooksPictureShows(seed: UInt64) async {
        var fromBook = Simulator(scenario: floor)
        fromBook.agentPictures = .book
        let fromLedger = Simulator(scenario: floor)
        #expect(fromLedger.agentPictures == .ledger)
        let expected = await fromBook.compare(seed: seed + 20, parallelism: 2)
        let actual = await fromLedger.compare(seed: seed + 20, parallelism: 2)
        #expect(actual == expected)
        #expect(actual.policies.allSatisfy { $0.connects > 0 })
    }
}

/// `floor`'s report with seed 11, as written by 63110c6 (JSON, keys sorted).
private let referenceReport = """
    {
      "agents" : 12,
      "days" : 1,
      "policies" : [
        {
          "abandonRate" : 0,
          "abandons" : 0,
          "attempts" : 937,
          "busyOccupancy" : 0.6631570978258565,
          "connects" : 284,
          "connectsPerAgentHour" : 23.666666666666668,
          "connectsPerHour" : 284,
          "liveAnswers" : 284,
          "meanWaitBetweenCallsSeconds" : 50.73529610164085,
          "policy" : "progressive",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 34.061425712268054,
          "talkOccupancy" : 0.5676904285378009,
          "worstRolling1hAbandonRate" : 0,
          "worstRolling1hWindowEndHours" : 0.3338833159516667,
          "worstRolling24hAbandonRate" : 0,
          "worstRolling24hWindowEndHours" : 0.3338833159516667
        },
        {
          "abandonRate" : 0.003115264797507788,
          "abandons" : 1,
          "attempts" : 1094,
          "busyOccupancy" : 0.7304444256433101,
          "connects" : 320,
          "connectsPerAgentHour" : 26.583333333333332,
          "connectsPerHour" : 319,
          "liveAnswers" : 321,
          "meanWaitBetweenCallsSeconds" : 35.657944891874614,
          "policy" : "power-1.5",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 37.451338717566664,
          "talkOccupancy" : 0.6241889786261111,
          "worstRolling1hAbandonRate" : 0.008333333333333333,
          "worstRolling1hWindowEndHours" : 1.6339796416711112,
          "worstRolling24hAbandonRate" : 0.0049504950495049506,
          "worstRolling24hWindowEndHours" : 0.6340606096230555
        },
        {
          "abandonRate" : 0.0223463687150838,
          "abandons" : 8,
          "attempts" : 1207,
          "busyOccupancy" : 0.7991977521771528,
          "connects" : 350,
          "connectsPerAgentHour" : 29.083333333333332,
          "connectsPerHour" : 349,
          "liveAnswers" : 358,
          "meanWaitBetweenCallsSeconds" : 24.760474529475644,
          "policy" : "power-2.0",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 40.89795874546805,
          "talkOccupancy" : 0.6816326457578009,
          "worstRolling1hAbandonRate" : 0.02976190476190476,
          "worstRolling1hWindowEndHours" : 1.5366132427294443,
          "worstRolling24hAbandonRate" : 0.02734375,
          "worstRolling24hWindowEndHours" : 0.7278473102366667
        },
        {
          "abandonRate" : 0.022857142857142857,
          "abandons" : 8,
          "attempts" : 1170,
          "busyOccupancy" : 0.7733689252556019,
          "connects" : 342,
          "connectsPerAgentHour" : 28.416666666666668,
          "connectsPerHour" : 341,
          "liveAnswers" : 350,
          "meanWaitBetweenCallsSeconds" : 28.690576928431085,
          "policy" : "predictive",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 39.53920830516528,
          "talkOccupancy" : 0.658986805086088,
          "worstRolling1hAbandonRate" : 0.05,
          "worstRolling1hWindowEndHours" : 1.774175873796111,
          "worstRolling24hAbandonRate" : 0.022922636103151862,
          "worstRolling24hWindowEndHours" : 0.9959871810433333
        },
        {
          "abandonRate" : 0.042483660130718956,
          "abandons" : 13,
          "attempts" : 1020,
          "busyOccupancy" : 0.6684541266047453,
          "connects" : 293,
          "connectsPerAgentHour" : 24.333333333333332,
          "connectsPerHour" : 292,
          "liveAnswers" : 306,
          "meanWaitBetweenCallsSeconds" : 48.73864664306164,
          "policy" : "vicidial",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 34.274619710684725,
          "talkOccupancy" : 0.5712436618447454,
          "worstRolling1hAbandonRate" : 0.08,
          "worstRolling1hWindowEndHours" : 0.2864939490863889,
          "worstRolling24hAbandonRate" : 0.08,
          "worstRolling24hWindowEndHours" : 0.2864939490863889
        },
        {
          "abandonRate" : 0.03164556962025317,
          "abandons" : 10,
          "attempts" : 1063,
          "busyOccupancy" : 0.7039177051397685,
          "connects" : 306,
          "connectsPerAgentHour" : 25.416666666666668,
          "connectsPerHour" : 305,
          "liveAnswers" : 316,
          "meanWaitBetweenCallsSeconds" : 41.034646154085245,
          "policy" : "vicidial-available-only",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 36.14786993664167,
          "talkOccupancy" : 0.6024644989440278,
          "worstRolling1hAbandonRate" : 0.04,
          "worstRolling1hWindowEndHours" : 0.2980499826183334,
          "worstRolling24hAbandonRate" : 0.04,
          "worstRolling24hWindowEndHours" : 0.2980499826183334
        },
        {
          "abandonRate" : 0,
          "abandons" : 0,
          "attempts" : 432,
          "busyOccupancy" : 1,
          "connects" : 432,
          "connectsPerAgentHour" : 36,
          "connectsPerHour" : 432,
          "liveAnswers" : 432,
          "meanWaitBetweenCallsSeconds" : 0,
          "policy" : "clairvoyant",
          "staffedAgentHours" : 12,
          "talkMinutesPerAgentHour" : 51.136481350723614,
          "talkOccupancy" : 0.8522746891787268,
          "worstRolling1hAbandonRate" : 0,
          "worstRolling1hWindowEndHours" : 0.21636767079055555,
          "worstRolling24hAbandonRate" : 0,
          "worstRolling24hWindowEndHours" : 0.21636767079055555
        }
      ],
      "scenario" : "speed-reference",
      "seed" : 11,
      "shiftHours" : 1,
      "targetAbandonRate" : 0.03
    }
    """
