import DialerCore
import DialerSimulation
import Testing

private let agent = AgentID("agent")

/// A fixed script: 300 calls, one every 0.7 s, with a node that bridges live answers, leaves
/// a message on machines, and an inbound line whose callers are accepted and bridged.
private func scriptedRun(seed: UInt64) async throws -> [SimulatedTrunk.Observation] {
    var population = SimulatedTrunk.Population(seed: seed)
    population.inbound = [.init(did: "+4570000001", callsPerHour: 200)]
    let h = try await TrunkHarness(population)
    var offers = h.trunk.inboundCalls.makeAsyncIterator()
    let react: (SimulatedTrunk.Observation) async throws -> Void = { observation in
        switch observation {
        case .progress(let id, .answeredLive): try await h.trunk.bridge(id, to: agent)
        case .progress(let id, .answeredByMachine): try await h.trunk.play(CallMessage(id: "voicemail"), on: id)
        case .progress(let id, .messageFinished): try await h.trunk.hangUp(id)
        case .arrived(let id, _, _, _):
            _ = await offers.next()
            try await h.trunk.accept(id)
            try await h.trunk.bridge(id, to: agent)
        default: break
        }
    }
    for index in 0..<300 {
        try await h.run(until: atSecond(0.7 * Double(index)), react: react)
        _ = try? await h.trunk.originate(
            number: "+453\(1_000_000 + index % 250)", callerID: "+4570000000", ringTimeout: .seconds(20))
    }
    try await h.run(until: atSecond(3600), react: react)
    return h.log.all
}

/// Each number's fates, in the order it was called, from a trunk's observations.
private func fatesByNumber(_ observations: [SimulatedTrunk.Observation]) -> [String: [SimulatedTrunk.Fate]] {
    var result: [String: [SimulatedTrunk.Fate]] = [:]
    for case .originated(_, let request, _, let fate) in observations {
        result[request.number, default: []].append(fate)
    }
    return result
}

@Suite("Simulated trunk: same seed, same population")
struct TrunkRepeatabilityTests {
    @Test func theSameSeedGivesTheSameRun() async throws {
        let first = try await scriptedRun(seed: 3)
        let second = try await scriptedRun(seed: 3)
        #expect(first.count > 1000)
        #expect(first == second)
        let other = try await scriptedRun(seed: 4)
        #expect(other != first)
        #expect(fatesByNumber(other) != fatesByNumber(first))
    }

    @Test func aNumbersFateDoesNotDependOnTheOrderOfDialing() async throws {
        let numbers = (0..<200).map { "+454\(1_000_000 + $0)" }
        func dial(_ order: [String]) async throws -> [String: [SimulatedTrunk.Fate]] {
            let h = try await TrunkHarness(SimulatedTrunk.Population(seed: 8, channels: 1000, callsPerSecond: 1000))
            // Everything twice: a second call to a number gets the number's second fate.
            for number in order + order {
                _ = try await h.trunk.originate(number: number, callerID: "+4570000000", ringTimeout: .seconds(30))
            }
            return fatesByNumber(h.log.all)
        }
        let forwards = try await dial(numbers)
        let backwards = try await dial(numbers.reversed())
        #expect(forwards == backwards)
        #expect(forwards.values.allSatisfy { $0.count == 2 })
        #expect(forwards.values.contains { $0[0] != $0[1] }, "a second call is a new draw")

        // And the fate is the population's, computable without a trunk.
        let population = SimulatedTrunk.Population(seed: 8)
        for number in numbers.prefix(20) {
            #expect(
                forwards[number] == [
                    population.fate(number: number, attempt: 0), population.fate(number: number, attempt: 1),
                ])
        }
    }

    @Test func fatesDependOnTheSeed() {
        let a = SimulatedTrunk.Population(seed: 1)
        let b = SimulatedTrunk.Population(seed: 2)
        let numbers = (0..<50).map { "+455\(1_000_000 + $0)" }
        #expect(numbers.map { a.fate(number: $0, attempt: 0) } == numbers.map { a.fate(number: $0, attempt: 0) })
        #expect(numbers.map { a.fate(number: $0, attempt: 0) } != numbers.map { b.fate(number: $0, attempt: 0) })
    }

    @Test func changingOneDistributionLeavesTheOtherDrawsAsTheyWere() {
        let before = SimulatedTrunk.Population(seed: 6)
        var after = before
        after.talkSeconds = .uniform(min: 10, max: 20)
        for index in 0..<100 {
            var old = before.fate(number: "+456\(1_000_000 + index)", attempt: 0)
            let new = after.fate(number: "+456\(1_000_000 + index)", attempt: 0)
            #expect(new.talkTime >= .seconds(10) && new.talkTime <= .seconds(20))
            old.talkTime = new.talkTime
            #expect(old == new)
        }
    }
}

@Suite("Simulated trunk: sampling")
struct TrunkSamplingTests {
    private func fates(_ population: SimulatedTrunk.Population, count: Int = 20_000) -> [SimulatedTrunk.Fate] {
        (0..<count).map { population.fate(number: "+457\(1_000_000 + $0)", attempt: 0) }
    }

    @Test func distributionsHaveTheirMeansAndSpreads() {
        let population = SimulatedTrunk.Population(
            ringSeconds: .fixed(seconds: 4),
            signalSeconds: .uniform(min: 2, max: 6),
            talkSeconds: .logNormal(mean: 150, standardDeviation: 120))
        let drawn = fates(population)
        #expect(drawn.allSatisfy { $0.ringTime == .seconds(4) })
        let signal = drawn.map(\.signalTime.seconds)
        #expect(signal.allSatisfy { $0 >= 2 && $0 <= 6 })
        #expect(abs(signal.reduce(0, +) / Double(signal.count) - 4) < 0.05)
        let talk = drawn.map(\.talkTime.seconds)
        let mean = talk.reduce(0, +) / Double(talk.count)
        let sd = (talk.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(talk.count - 1)).squareRoot()
        #expect(talk.allSatisfy { $0 > 0 })
        #expect(abs(mean - 150) < 4)
        #expect(abs(sd - 120) < 10)
    }

    @Test func outcomeSharesAndDetectionErrorsFollowTheProbabilities() {
        let population = SimulatedTrunk.Population(
            outcomes: .init(live: 0.4, machine: 0.2, busy: 0.1, noAnswer: 0.2, invalid: 0.05, failed: 0.05),
            machineDetection: .init(falsePositiveRate: 0.1, falseNegativeRate: 0.3))
        let drawn = fates(population)
        for outcome in SimulatedTrunk.Outcome.allCases {
            let share = Double(drawn.count { $0.outcome == outcome }) / Double(drawn.count)
            #expect(abs(share - population.outcomes[outcome]) < 0.015, "\(outcome)")
        }
        let live = drawn.filter { $0.outcome == .live }
        let machines = drawn.filter { $0.outcome == .machine }
        #expect(abs(Double(live.count { $0.detectedAs == .machine }) / Double(live.count) - 0.1) < 0.015)
        #expect(abs(Double(machines.count { $0.detectedAs == .live }) / Double(machines.count) - 0.3) < 0.03)
        #expect(drawn.filter { $0.outcome == .busy }.allSatisfy { $0.detectedAs == nil && !$0.misclassified })
    }

    @Test func anOutcomeWithProbabilityZeroNeverHappens() {
        let drawn = fates(SimulatedTrunk.Population(outcomes: .init(live: 0.5, invalid: 0.5)), count: 2000)
        #expect(Set(drawn.map(\.outcome)) == [.live, .invalid])
    }
}
