import DialerSimulation
import Testing

/// Small scenarios that run in a fraction of a second: a few agents, half an hour, a
/// one-second pacing tick.
private func smallScenario(agents: Int, seed: UInt64, live: Double = 0.3, target: Double = 0.03) -> Scenario {
    Scenario(
        name: "small-\(agents)",
        seed: seed,
        agents: agents,
        shiftHours: 0.5,
        outcomes: OutcomeMix(live: live, machine: 0.15, busy: 0.05, noAnswer: 0.7 - live, invalid: 0.06, failed: 0.04),
        timeToAnswerSeconds: .logNormal(mean: 10, standardDeviation: 5),
        talkSeconds: .logNormal(mean: 90, standardDeviation: 80),
        wrapUpSeconds: .logNormal(mean: 15, standardDeviation: 8),
        machineDetectionSeconds: .logNormal(mean: 3, standardDeviation: 1),
        patienceSeconds: .logNormal(mean: 5, standardDeviation: 4),
        targetAbandonRate: target,
        pacingIntervalSeconds: 1,
        statisticsSample: 200
    )
}

/// Every standard policy plus an aggressive power ratio, the likeliest to come near the bound.
private let contenders =
    PolicySpec.standardSet.filter { $0.kind != .clairvoyant } + [
        PolicySpec(name: "power-3.0", kind: .power(callsPerReadyAgent: 3, callsPerWrapUpAgent: 0.5))
    ]

@Suite("dialer-sim")
struct SimulatorTests {
    @Test func theSameSeedGivesTheSameResult() async {
        let simulator = Simulator(scenario: smallScenario(agents: 6, seed: 7))
        let first = await simulator.compare(parallelism: 2)
        let second = await simulator.compare(parallelism: 1)
        #expect(first == second)
        #expect(first.policies.map(\.policy) == PolicySpec.standardSet.map(\.name))
        #expect(first.policies.allSatisfy { $0.connects > 0 })

        let other = await simulator.compare(seed: 8, parallelism: 2)
        #expect(other != first)
    }

    @Test(arguments: [(3, 1), (3, 2), (8, 1), (8, 2), (15, 3)] as [(Int, UInt64)])
    func noPolicyBeatsTheClairvoyantBound(agents: Int, seed: UInt64) {
        let simulator = Simulator(scenario: smallScenario(agents: agents, seed: seed))
        let bound = simulator.run(PolicySpec(name: "clairvoyant", kind: .clairvoyant))
        #expect(bound.abandons == 0)
        #expect(bound.busyOccupancy > 0.999)
        for policy in contenders {
            let report = simulator.run(policy)
            #expect(report.talkOccupancy <= bound.talkOccupancy, "\(policy.name) talked more than the bound")
            #expect(report.busyOccupancy <= bound.busyOccupancy, "\(policy.name) was busier than the bound")
            #expect(report.connectsPerHour <= bound.connectsPerHour, "\(policy.name) connected more than the bound")
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func predictiveWithATargetOfZeroAbandonsNothing(seed: UInt64) {
        // A high answer rate and many agents tempt any overdialing.
        let simulator = Simulator(scenario: smallScenario(agents: 12, seed: seed, live: 0.5, target: 0))
        let report = simulator.run(PolicySpec(name: "predictive", kind: .predictive(.init())))
        #expect(report.liveAnswers > 50)
        #expect(report.abandons == 0)
        #expect(report.worstRolling1hAbandonRate ?? 0 == 0)
    }

    @Test func progressiveOneToOneNeverAbandons() {
        let simulator = Simulator(scenario: smallScenario(agents: 5, seed: 4, live: 0.5))
        let report = simulator.run(PolicySpec(name: "progressive", kind: .progressive(dialRate: 1)))
        #expect(report.connects > 20)
        #expect(report.abandons == 0)
    }

    @Test func progressIsReportedUpToTheEnd() {
        let simulator = Simulator(scenario: smallScenario(agents: 2, seed: 1))
        var seen: [Double] = []
        _ = simulator.run(PolicySpec(name: "power", kind: .power(callsPerReadyAgent: 1, callsPerWrapUpAgent: 0))) {
            seen.append($0)
        }
        #expect(seen.count > 5)
        #expect(seen == seen.sorted())
        #expect(seen.last == 1)
    }
}
