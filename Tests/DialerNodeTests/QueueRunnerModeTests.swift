import DialerCore
import DialerNode
import DialerSimulation
import Testing

/// Every dialing mode run by the real ``QueueRunner`` over the ``SimulatedTrunk`` and the real
/// reservation book, on a manual clock: the moments asserted are call time the test chose.
@Suite("Queue runner over the simulated trunk, mode by mode, on a manual clock")
struct QueueRunnerModeTests {
    /// A population whose calls all go one way, with fixed times so each test knows its moments.
    static func population(
        _ outcomes: SimulatedTrunk.Population.Outcomes,
        ring: SimulatedTrunk.Population.Distribution = .fixed(seconds: 3),
        talk: Double = 20, channels: Int = 100, callsPerSecond: Int = 100
    ) -> SimulatedTrunk.Population {
        SimulatedTrunk.Population(
            seed: 5, outcomes: outcomes, ringSeconds: ring, signalSeconds: .fixed(seconds: 2),
            greetingSeconds: .fixed(seconds: 1),
            machineDetection: .init(seconds: .fixed(seconds: 1), falsePositiveRate: 0, falseNegativeRate: 0),
            talkSeconds: .fixed(seconds: talk), patienceSeconds: .fixed(seconds: 60), channels: channels,
            callsPerSecond: callsPerSecond, messageSeconds: ["promo": 5, "campaign": 4, "no-agent": 3])
    }

    static func enabled(_ mode: DialingMode) -> CampaignSettings {
        var settings = CampaignSettings(status: .enabled, mode: mode)
        settings.answeringMachine = .hangUp
        return settings
    }

    /// Predictive over a mixed population: the list runs to its end, each contact reported once
    /// with consistent times, no agent granted twice, and the runner's own abandon count agrees
    /// with the reports.
    @Test func predictiveRunsAMixedListToTheEnd() async throws {
        var settings = Self.enabled(.predictive)
        settings.predictive.targetAbandonRate = 0.03
        let bench = try await RunnerBench(
            settings: settings,
            population: Self.population(.standard, ring: .uniform(min: 2, max: 12), talk: 20), agents: 4,
            targets: (1...40).map(InMemoryContacts.target))
        await bench.runUntilReported(40, within: .seconds(3_600))
        let reports = await bench.contacts.reports
        #expect(Set(reports.map(\.target.attempt)).count == 40, "each contact reported once")
        #expect(bench.log.originated.count == 40, "each contact dialed once")
        for report in reports {
            #expect(report.endedAt >= report.dialedAt)
            if report.outcome == .connected {
                #expect(report.agent != nil)
                let (answered, bridged) = (try #require(report.answeredAt), try #require(report.bridgedAt))
                #expect(answered <= bridged && bridged <= report.endedAt)
            }
        }
        #expect(await bench.desk.busyTwice == 0)
        let counts = await bench.runner.abandonCounts()
        #expect(counts.abandons == reports.filter { $0.outcome == .abandoned }.count)
        #expect(counts.liveAnswers == reports.filter { $0.outcome == .connected || $0.outcome == .abandoned }.count)
        #expect(reports.contains { $0.outcome == .connected }, "agents took calls")
        await bench.finish()
    }

    @Test func previewOffersSkippedOrUnansweredGoToTheNextAgentAndOnlyTheAcceptedOneIsDialed() async throws {
        let bench = try await RunnerBench(
            settings: Self.enabled(.preview), population: Self.population(.init(live: 1)), agents: 3,
            targets: [InMemoryContacts.target(1)], book: .init(offerTimeout: .seconds(20)))
        await bench.run(until: "the first offer") { await bench.desk.offers.count == 1 }
        let first = try #require(await bench.desk.offers.first)
        try await bench.desk.reject(first.agent, request: first.request)
        await bench.settle()
        await bench.run(until: "the skipped offer goes to another agent") { await bench.desk.offers.count == 2 }
        let second = await bench.desk.offers[1]
        #expect(second.request == first.request)
        #expect(second.agent != first.agent)
        let secondOfferedAt = bench.now
        await bench.run(until: "the unanswered offer goes to a third agent", within: .seconds(25)) {
            await bench.desk.offers.count == 3
        }
        let third = await bench.desk.offers[2]
        #expect(third.request == first.request)
        #expect(![first.agent, second.agent].contains(third.agent))
        #expect(bench.now - secondOfferedAt >= .seconds(20), "withdrawn at the offer timeout, not before")
        #expect(bench.log.originated.isEmpty, "nothing is dialed before an agent accepts")

        let acceptedAt = bench.now
        try await bench.desk.accept(third.agent, request: third.request)
        await bench.settle()
        await bench.run(until: "the call is reported") { await bench.contacts.reports.count == 1 }
        let report = try #require(await bench.contacts.reports.first)
        #expect(report.outcome == .connected)
        #expect(report.agent == third.agent)
        #expect(bench.log.originated.map(\.at) == [acceptedAt], "dialed once, on the accept")
        #expect(await bench.desk.busyTwice == 0)
        await bench.finish()
    }

    @Test func progressiveWithDialRateThreePlacesThreeLinesForTheAgentAndAbandonsTheExtraLiveAnswers() async throws {
        var settings = Self.enabled(.progressive)
        settings.dialRate = 3
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(live: 1), ring: .uniform(min: 2, max: 8)), agents: 1,
            targets: (1...6).map(InMemoryContacts.target))
        await bench.run(until: "the three lines end") { await bench.contacts.reports.count >= 3 }
        let placed = bench.log.originated
        let firstThree = Array(placed.prefix(3))
        #expect(Set(firstThree.map(\.at)).count == 1, "the three lines go out together, on the reservation")
        let reports = await bench.contacts.reports
        let connected = try #require(reports.first { $0.outcome == .connected })
        #expect(connected.agent == AgentID("agent-0"))
        #expect(
            placed.filter { $0.at < connected.endedAt }.count == 3,
            "no more lines while the agent is on the first answer")
        let others = reports.filter { $0.outcome != .connected }
        #expect(others.map(\.outcome) == [.abandoned, .abandoned], "nobody left for the other live answers")
        for report in others {
            #expect(try #require(report.answeredAt) > connected.answeredAt!, "the first live answer gets the agent")
            let call = try #require(bench.log.call(to: report.target.phone))
            #expect(bench.log.progress(of: call).contains { $0.isMessage("no-agent") }, "the message is played")
        }
        #expect(await bench.runner.abandonCounts().abandons == 2)
        await bench.finish()
    }

    @Test func anAnsweredCallNoAgentTakesIsAbandonedAtTwoSecondsWithTheMessageAndCounted() async throws {
        var settings = Self.enabled(.power)
        settings.callsPerReadyAgent = 2
        // One agent, two lines answered at the same moment: one of them has nobody to talk to.
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(live: 1)), agents: 1,
            targets: (1...2).map(InMemoryContacts.target))
        await bench.run(until: "one call is abandoned") {
            await bench.contacts.reports.contains { $0.outcome == .abandoned }
        }
        let abandoned = try #require(await bench.contacts.reports.first { $0.outcome == .abandoned })
        let call = try #require(bench.log.call(to: abandoned.target.phone))
        let progress = bench.log.progress(of: call)
        let greetingEnd = try #require(
            progress.lazy.compactMap { if case .answeredLive(_, let end) = $0 { end } else { nil } }.first)
        let messageAt = try #require(
            progress.lazy.compactMap {
                if case .messageStarted(let message, let at) = $0, message.id == "no-agent" { at } else { nil }
            }.first)
        // The grace is 2 s from the end of the greeting; the clock moves in 100 ms steps.
        #expect(messageAt >= greetingEnd + .seconds(2), "not abandoned before the grace is over")
        #expect(messageAt <= greetingEnd + .milliseconds(2100), "abandoned as soon as the grace is over")
        #expect(progress.contains { if case .bridged = $0 { true } else { false } } == false)
        let counts = await bench.runner.abandonCounts()
        #expect(counts.liveAnswers == 2)
        #expect(counts.abandons == 1)
        await bench.finish()
    }

    @Test(arguments: [AnsweringMachinePolicy.hangUp, .leaveMessage(message: "promo")])
    func machineAnswersFollowThePolicyAskForNoAgentAndAreNeverAbandons(policy: AnsweringMachinePolicy) async throws {
        var settings = Self.enabled(.power)
        settings.answeringMachine = policy
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(machine: 1)), agents: 2,
            targets: (1...4).map(InMemoryContacts.target))
        await bench.runUntilReported(4)
        let reports = await bench.contacts.reports
        #expect(reports.allSatisfy { $0.outcome == .machine && $0.agent == nil })
        // An agent is asked for at each answer, while the detector listens, and given back at
        // the machine's verdict: never bridged, never left reserved.
        #expect(await bench.desk.requests.allSatisfy { $0.kind == .connectAnsweredCall })
        #expect(await bench.desk.confirmations == 0, "a machine is never bridged to an agent")
        for agent in (0..<2).map({ AgentID("agent-\($0)") }) {
            guard case .available = await bench.desk.state(of: agent) else {
                Issue.record("\(agent) was not given back")
                continue
            }
        }
        let counts = await bench.runner.abandonCounts()
        #expect(counts.liveAnswers == 0)
        #expect(counts.abandons == 0)
        for report in reports {
            let progress = bench.log.progress(of: try #require(bench.log.call(to: report.target.phone)))
            switch policy {
            case .leaveMessage:
                #expect(progress.contains { $0.isMessage("promo") })
            case .hangUp, .off:
                #expect(!progress.contains { if case .messageStarted = $0 { true } else { false } })
            }
            #expect(progress.last == .hungUp(by: .node, at: report.endedAt))
        }
        await bench.finish()
    }

    @Test func theCallerIDPresentedFollowsThePrecedence() async throws {
        var settings = Self.enabled(.power)
        settings.callerID = CallerIDSettings(
            defaultNumber: "+442000000000",
            pool: [PooledCallerID(number: "+13125550000", localPrefixes: ["+1312"])],
            preDialRules: [PreDialCallerIDRule(present: "+449000000000", field: "tier", fieldValues: ["gold"])])
        var gold = InMemoryContacts.target(1)
        gold.fields = ["tier": "gold"]
        gold.callerID = "+448000000000"
        var own = InMemoryContacts.target(2)
        own.callerID = "+448000000000"
        var local = InMemoryContacts.target(3)
        local.phone = "+13125551234"
        let plain = InMemoryContacts.target(4)
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(busy: 1)), agents: 4,
            targets: [gold, own, local, plain])
        await bench.runUntilReported(4)
        let presented = Dictionary(
            uniqueKeysWithValues: bench.log.originated.map { ($0.request.number, $0.request.callerID) })
        #expect(presented[gold.phone] == "+449000000000", "a pre-dial rule beats the contact's own")
        #expect(presented[own.phone] == "+448000000000", "the contact's own beats the campaign's")
        #expect(presented[local.phone] == "+13125550000", "a local pooled number")
        #expect(presented[plain.phone] == "+13125550000", "the pool by rotation before the default")
        let reported = await bench.contacts.reports
        for report in reported { #expect(report.callerID == presented[report.target.phone]) }
        await bench.finish()
    }

    @Test func theFiveSecondCapHoldsOnTheTrunk() async throws {
        var settings = Self.enabled(.power)
        settings.attemptsPerFiveSeconds = 3
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(busy: 1)), agents: 10,
            targets: (1...10).map(InMemoryContacts.target))
        await bench.runUntilReported(10)
        let moments = bench.log.originated.map(\.at)
        #expect(moments.count == 10)
        for start in moments {
            let inWindow = moments.filter { $0 >= start && $0 < start + .seconds(5) }.count
            #expect(inWindow <= 3, "at most 3 attempts in the 5 s from \(start)")
        }
        await bench.finish()
    }

    @Test func callsTheTrunkRefusesForItsChannelsAreDialedLaterNotReportedAsFailures() async throws {
        var settings = Self.enabled(.power)
        settings.callsPerReadyAgent = 1
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(busy: 1), channels: 2), agents: 5,
            targets: (1...6).map(InMemoryContacts.target))
        await bench.runUntilReported(6)
        #expect(!bench.log.refused.isEmpty, "the trunk's two channels turned calls away")
        let reports = await bench.contacts.reports
        #expect(reports.allSatisfy { $0.outcome == .busy }, "a refusal is not a network failure")
        #expect(Set(reports.map(\.target.attempt)).count == 6, "each contact reported once")
        #expect(bench.log.originated.count == 6, "each placed once")
        await bench.finish()
    }

    @Test func agentlessPlaysTheCampaignMessageOnItsPorts() async throws {
        var settings = Self.enabled(.agentless)
        settings.ivrPorts = 2
        let bench = try await RunnerBench(
            settings: settings, population: Self.population(.init(live: 1)), agents: 0,
            targets: (1...3).map(InMemoryContacts.target))
        await bench.runUntilReported(3)
        let placed = bench.log.originated.map(\.at)
        #expect(placed[0] == placed[1], "both ports at once")
        #expect(placed[2] > placed[0], "the third waits for a free port")
        for report in await bench.contacts.reports {
            #expect(report.outcome == .connected)
            let progress = bench.log.progress(of: try #require(bench.log.call(to: report.target.phone)))
            #expect(progress.contains { $0.isMessage("campaign") })
        }
        #expect(await bench.desk.requests.isEmpty)
        await bench.finish()
    }
}

extension CallProgress {
    /// Whether this is the start of the message `id`.
    func isMessage(_ id: String) -> Bool {
        if case .messageStarted(let message, _) = self { message.id == id } else { false }
    }
}
