import DialerCore
import DialerSimulation
import Testing

// The trunk must do what its population says. These run thousands of calls in virtual time
// (a manual clock, stepped from one scheduled moment to the next) and compare what a node
// would observe with the configuration. The seeds are fixed, so the runs are repeatable; the
// tolerances are about four standard errors, so a different seed would pass too.

private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

private func standardDeviation(_ values: [Double]) -> Double {
    let m = mean(values)
    return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
}

private func seconds(_ from: Moment, _ to: Moment) -> Double { (to - from).seconds }

private let agent = AgentID("agent")

/// Dials `count` distinct numbers, one every `interval`, reacting to observations as a node
/// would, then lets every call finish until `end`.
private func dialMany(
    _ h: TrunkHarness,
    count: Int,
    every interval: Duration,
    ringTimeout: Duration = .seconds(60),
    until end: Moment,
    react: (SimulatedTrunk.Observation) async throws -> Void
) async throws {
    for index in 0..<count {
        try await h.run(until: .origin + interval * index, react: react)
        _ = try? await h.trunk.originate(
            number: "+452\(1_000_000 + index)", callerID: "+4570000000", ringTimeout: ringTimeout)
    }
    try await h.run(until: end, react: react)
}

extension CallProgress {
    /// The name of a final event, to count ends by.
    fileprivate var endName: String {
        switch self {
        case .busy: "busy"
        case .invalidNumber: "invalidNumber"
        case .networkFailure: "networkFailure"
        case .noAnswer: "noAnswer"
        default: "other"
        }
    }
}

@Suite("Simulated trunk: faithful to its population")
struct TrunkFaithfulnessTests {
    @Test func outcomesTimesAndDetectionMatchThePopulation() async throws {
        let population = SimulatedTrunk.Population(
            seed: 2024,
            outcomes: .init(live: 0.35, machine: 0.15, busy: 0.1, noAnswer: 0.25, invalid: 0.1, failed: 0.05),
            ringSeconds: .logNormal(mean: 8, standardDeviation: 4),
            signalSeconds: .uniform(min: 1, max: 5),
            greetingSeconds: .logNormal(mean: 1.5, standardDeviation: 0.5),
            machineDetection: .init(
                seconds: .logNormal(mean: 2.5, standardDeviation: 0.8), falsePositiveRate: 0.05, falseNegativeRate: 0.2),
            talkSeconds: .logNormal(mean: 120, standardDeviation: 60),
            patienceSeconds: .logNormal(mean: 8, standardDeviation: 4),
            channels: 10_000,
            callsPerSecond: 100
        )
        let h = try await TrunkHarness(population)
        let calls = 4000

        // The node: bridge every other live answer (the rest wait, to measure patience), drop
        // machines, and drop a machine taken for a person as soon as the agent hears it.
        var fates: [CallID: SimulatedTrunk.Fate] = [:]
        var placed: [CallID: Moment] = [:]
        var order: [CallID: Int] = [:]
        try await dialMany(h, count: calls, every: .milliseconds(250), until: atSecond(3000)) { observation in
            switch observation {
            case .originated(let id, _, let moment, let fate):
                fates[id] = fate
                placed[id] = moment
                order[id] = order.count
            case .progress(let id, .answeredLive):
                if order[id, default: 0] % 2 == 0 {
                    try await h.trunk.bridge(id, to: agent)
                } else if fates[id]?.outcome == .machine {
                    try await h.trunk.hangUp(id)  // a machine left waiting would wait for ever
                }
            case .progress(let id, .answeredByMachine):
                try await h.trunk.hangUp(id)
            case .progress(let id, .bridged):
                if fates[id]?.outcome == .machine { try await h.trunk.hangUp(id) }
            default:
                break
            }
        }
        #expect(fates.count == calls)
        #expect(await h.trunk.statistics.activeCalls == 0, "every call ended")

        let progress = h.log.progressByCall
        var finals: [String: Int] = [:]
        var reportedLive = 0
        var reportedMachine = 0
        var ring: [Double] = []
        var signal: [Double] = []
        var greeting: [Double] = []
        var detection: [Double] = []
        var talk: [Double] = []
        var patience: [Double] = []
        var falsePositives = 0
        var liveAnswers = 0
        var falseNegatives = 0
        var machineAnswers = 0
        for (id, events) in progress {
            let fate = try #require(fates[id])
            let start = try #require(placed[id])
            let final = try #require(events.last)
            #expect(final.isFinal)
            switch final {
            case .busy(let at), .invalidNumber(let at), .networkFailure(let at):
                finals[final.endName, default: 0] += 1
                signal.append(seconds(start, at))
            case .noAnswer:
                finals[final.endName, default: 0] += 1
            default:
                break
            }
            var greetingEnd: Moment?
            var bridgedAt: Moment?
            for event in events {
                switch event {
                case .answeredLive(let at, let greetingEndsAt):
                    reportedLive += 1
                    ring.append(seconds(start, at))
                    greetingEnd = greetingEndsAt
                    if fate.outcome == .live { greeting.append(seconds(at, greetingEndsAt)) }
                case .answeredByMachine(let at, let detectedAt):
                    reportedMachine += 1
                    ring.append(seconds(start, at))
                    detection.append(seconds(at, detectedAt))
                case .bridged(_, let at):
                    bridgedAt = at
                case .hungUp(.customer, let at):
                    if let bridgedAt {
                        talk.append(seconds(bridgedAt, at))
                    } else if let greetingEnd {
                        patience.append(seconds(greetingEnd, at))
                    }
                default:
                    break
                }
            }
            let answered = events.contains {
                if case .answeredLive = $0 { return true }
                if case .answeredByMachine = $0 { return true }
                return false
            }
            let reportedAsMachine = events.contains { if case .answeredByMachine = $0 { true } else { false } }
            if answered && fate.outcome == .live {
                liveAnswers += 1
                if reportedAsMachine { falsePositives += 1 }
            }
            if answered && fate.outcome == .machine {
                machineAnswers += 1
                if !reportedAsMachine { falseNegatives += 1 }
            }
        }

        // Outcome shares, as the node sees them.
        func share(_ count: Int) -> Double { Double(count) / Double(calls) }
        let o = population.outcomes
        let fp = population.machineDetection.falsePositiveRate
        let fn = population.machineDetection.falseNegativeRate
        #expect(abs(share(finals["busy", default: 0]) - o.busy) < 0.02)
        #expect(abs(share(finals["invalidNumber", default: 0]) - o.invalid) < 0.02)
        #expect(abs(share(finals["networkFailure", default: 0]) - o.failed) < 0.015)
        #expect(abs(share(finals["noAnswer", default: 0]) - o.noAnswer) < 0.03)
        #expect(abs(share(reportedLive) - (o.live * (1 - fp) + o.machine * fn)) < 0.03)
        #expect(abs(share(reportedMachine) - (o.live * fp + o.machine * (1 - fn))) < 0.025)

        // Detection accuracy against the truth.
        #expect(abs(Double(falsePositives) / Double(liveAnswers) - fp) < 0.02)
        #expect(abs(Double(falseNegatives) / Double(machineAnswers) - fn) < 0.06)

        // Times.
        let d = population
        #expect(abs(mean(ring) - d.ringSeconds.mean) < 0.4)
        #expect(abs(standardDeviation(ring) - d.ringSeconds.standardDeviation) < 0.6)
        #expect(abs(mean(signal) - d.signalSeconds.mean) < 0.15)
        #expect(signal.allSatisfy { $0 >= 1 && $0 <= 5 })
        #expect(abs(mean(greeting) - d.greetingSeconds.mean) < 0.1)
        #expect(abs(mean(detection) - d.machineDetection.seconds.mean) < 0.15)
        #expect(abs(mean(talk) - d.talkSeconds.mean) < 7)
        #expect(abs(standardDeviation(talk) - d.talkSeconds.standardDeviation) < 10)
        #expect(abs(mean(patience) - d.patienceSeconds.mean) < 0.7)
        #expect(talk.count > 500 && patience.count > 500)
    }

    @Test func capacityAndCallsPerSecondCapsHoldExactly() async throws {
        let population = SimulatedTrunk.Population(
            seed: 5,
            outcomes: .init(live: 0.5, busy: 0.2, noAnswer: 0.3),
            ringSeconds: .uniform(min: 2, max: 10),
            talkSeconds: .logNormal(mean: 20, standardDeviation: 10),
            channels: 25,
            callsPerSecond: 4
        )
        let h = try await TrunkHarness(population)
        // Ten attempts a second for two minutes: far over both caps.
        try await dialMany(h, count: 1200, every: .milliseconds(100), ringTimeout: .seconds(20), until: atSecond(400)) {
            observation in
            if case .progress(let id, .answeredLive) = observation { try await h.trunk.bridge(id, to: agent) }
        }

        // Replay the log: a call is placed only under both caps, refused only at one of them.
        var active = 0
        var window: [Moment] = []
        var placed = 0
        var refusedForCapacity = 0
        var refusedForRate = 0
        for observation in h.log.all {
            switch observation {
            case .originated(_, _, let at, _):
                window.removeAll { $0 <= at - .seconds(1) }
                #expect(active < 25 && window.count < 4)
                window.append(at)
                active += 1
                placed += 1
            case .refused(_, .channelCapacityExhausted(let channels), _):
                #expect(channels == 25 && active == 25)
                refusedForCapacity += 1
            case .refused(_, .callsPerSecondExceeded(let limit), let at):
                window.removeAll { $0 <= at - .seconds(1) }
                #expect(limit == 4 && active < 25 && window.count == 4)
                refusedForRate += 1
            case .progress(_, let event) where event.isFinal:
                active -= 1
            default:
                break
            }
        }
        let statistics = await h.trunk.statistics
        #expect(statistics.peakActiveCalls == 25)
        #expect(refusedForCapacity > 0 && refusedForRate > 0)
        #expect(statistics.refusedForCapacity == refusedForCapacity)
        #expect(statistics.refusedForRate == refusedForRate)
        #expect(statistics.originated == placed && placed + refusedForCapacity + refusedForRate == 1200)
        #expect(active == 0)
    }

    @Test func inboundArrivalsArePoissonAtTheConfiguredRate() async throws {
        let population = SimulatedTrunk.Population(
            seed: 11,
            patienceSeconds: .fixed(seconds: 30),
            inbound: [
                .init(did: "+4570000001", callsPerHour: 720),
                .init(did: "+4570000002", callsPerHour: 90, fromNumbers: ["+4511111111", "+4522222222"]),
            ],
            channels: 10_000
        )
        let h = try await TrunkHarness(population)
        let hours = 5.0
        try await h.run(until: atSecond(hours * 3600))
        var arrivals: [String: [Moment]] = [:]
        var callers: Set<String> = []
        for case .arrived(_, let did, let at, let fate) in h.log.all {
            arrivals[did, default: []].append(at)
            if did == "+4570000002" { callers.insert(fate.from) }
        }
        for line in population.inbound {
            let moments = try #require(arrivals[line.did])
            let expected = line.callsPerHour * hours
            // Poisson: the count's standard deviation is its square root.
            #expect(abs(Double(moments.count) - expected) < 4 * expected.squareRoot(), "\(line.did)")
            let gaps = zip(moments.dropFirst(), moments).map { seconds($1, $0) }
            let meanGap = 3600 / line.callsPerHour
            #expect(abs(mean(gaps) - meanGap) < 4 * meanGap / Double(gaps.count).squareRoot(), "\(line.did)")
            // Exponential gaps: the standard deviation equals the mean.
            #expect(abs(standardDeviation(gaps) / mean(gaps) - 1) < 0.15, "\(line.did)")
        }
        #expect(callers == ["+4511111111", "+4522222222"])
        let statistics = await h.trunk.statistics
        #expect(statistics.arrived == arrivals.values.reduce(0) { $0 + $1.count })
        #expect(statistics.activeCalls <= statistics.arrived)
    }
}
