import DialerCore
import DialerSimulation
import Foundation
import Testing

/// Small cluster scenarios: a dozen agents, a few minutes of call time, so that each run takes
/// a fraction of a second.
private let sales = QueueID("sales")
private let support = QueueID("support")
private let renewals = QueueID("renewals")

/// Agents who hang up after a while, write notes for a few seconds and never pause.
private let quickAgents = SyntheticAgentProfile(
    talkSeconds: .logNormal(mean: 60, standardDeviation: 30), wrapUpSeconds: .logNormal(mean: 8, standardDeviation: 4))

/// An inbound line whose callers wait long (as the load tester's), at `perHour`.
private func population(seed: UInt64, callersPerHour: Double) -> SimulatedTrunk.Population {
    SimulatedTrunk.Population(
        seed: seed,
        inbound: callersPerHour > 0
            ? [
                .init(
                    did: "+18005550100", callsPerHour: callersPerHour,
                    patienceSeconds: .logNormal(mean: 90, standardDeviation: 60))
            ]
            : [],
        channels: 500, callsPerSecond: 50)
}

/// Inbound callers on `support` and a predictive campaign on `sales`, one team; inbound
/// ranked first unless `inboundFirst` is false.
private func blended(seed: UInt64, inboundFirst: Bool = true, callersPerHour: Double = 120) -> ClusterScenario {
    ClusterScenario(
        name: "blended", seed: seed, shiftHours: 0.25, timeScale: 5, gatewayLatencyMilliseconds: 2,
        pictureIntervalMilliseconds: 100, population: population(seed: seed, callersPerHour: callersPerHour),
        campaigns: [.init(queue: sales, settings: ClusterScenario.Campaign.loadTestSettings(mode: .predictive))],
        inboundQueues: [support],
        teams: [.init(agents: 12, ranks: [support: inboundFirst ? 1 : 2, sales: inboundFirst ? 2 : 1])],
        agentProfile: quickAgents)
}

@Suite("dialer-sim: cluster engine")
struct ClusterRunTests {
    @Test func theBlendedModeGivesTheSameResultForTheSameSeed() throws {
        let scenario = blended(seed: 3)
        try scenario.validate()
        let first = ClusterRun(scenario: scenario).run()
        let second = ClusterRun(scenario: scenario).run()
        #expect(first == second)
        #expect(first.attempts > 50)
        #expect(first.connected > 10)
        #expect((first.inbound?.taken ?? 0) > 5)
        let other = ClusterRun(scenario: blended(seed: 4)).run()
        #expect(other != first)
        #expect(other.attempts != first.attempts || other.connected != first.connected)
    }

    @Test func twoCampaignsShareATeam() {
        let scenario = ClusterScenario(
            name: "two-campaigns", seed: 5, shiftHours: 0.25, timeScale: 1,
            population: population(seed: 5, callersPerHour: 0),
            campaigns: [
                .init(queue: sales, settings: ClusterScenario.Campaign.loadTestSettings(mode: .predictive)),
                .init(queue: renewals, settings: ClusterScenario.Campaign.loadTestSettings(mode: .power)),
            ],
            teams: [.init(agents: 10, ranks: [sales: 1, renewals: 2])], agentProfile: quickAgents)
        let report = ClusterRun(scenario: scenario).run()
        #expect(report.campaigns.map(\.queue) == ["sales", "renewals"])
        #expect(report.campaigns.allSatisfy { $0.connected > 0 })
        #expect(report == ClusterRun(scenario: scenario).run())
    }

    @Test func theReplayModeGivesTheSameResultForTheSameSeed() {
        func replay(seed: UInt64) -> ClusterScenario {
            // The demo's work, made small: its campaign, its inbound queue and callers, its agents.
            ClusterScenario.replay(
                name: "replay-small", seed: seed, agents: 10, timeScale: 30, wallSeconds: 20,
                campaigns: [(queue: sales, mode: .predictive, contacts: 2_000)], inboundQueues: [support],
                population: population(seed: seed, callersPerHour: 60), agentProfile: quickAgents)
        }
        let first = ClusterRun(scenario: replay(seed: 1)).run()
        #expect(first == ClusterRun(scenario: replay(seed: 1)).run())
        #expect(first.attempts > 20)
        #expect(first.timeScale == 30)
        #expect(first != ClusterRun(scenario: replay(seed: 2)).run())
    }

    @Test func inboundCallersRankedFirstAreServedBeforeTheCampaign() throws {
        // A busy floor: callers and live answers wait for the same agents at times. The queue
        // ranked first is served first, whichever it is, and never passed over.
        let inboundFirst = ClusterRun(scenario: blended(seed: 9, inboundFirst: true, callersPerHour: 600)).run()
        let campaignFirst = ClusterRun(scenario: blended(seed: 9, inboundFirst: false, callersPerHour: 600)).run()
        #expect(try #require(inboundFirst.inbound).taken > 50)
        #expect(inboundFirst.grantsAheadOfWaitingLowerRank > 0)
        #expect(inboundFirst.grantsPastWaitingHigherRank == 0)
        #expect(campaignFirst.grantsAheadOfWaitingLowerRank > 0)
        #expect(campaignFirst.grantsPastWaitingHigherRank == 0)
    }

    @Test func everyAbandonCarriesACause() {
        // Aggressive: a high answer rate, slow detection and latency make abandons of every kind.
        var scenario = blended(seed: 11, callersPerHour: 0)
        scenario.inboundQueues = []
        scenario.teams = [.init(agents: 8, ranks: [sales: 1])]
        scenario.gatewayLatencyMilliseconds = 40
        scenario.population.outcomes = .init(live: 0.5, machine: 0.2, busy: 0.05, noAnswer: 0.2, invalid: 0.05)
        scenario.campaigns[0].settings.predictive.targetAbandonRate = 0.2
        let report = ClusterRun(scenario: scenario).run()
        #expect(report.abandons > 0)
        #expect(report.abandonsByCause["none"] == nil)
        #expect(report.abandonsByCause.values.reduce(0, +) == report.abandons)
        let known = Set(AbandonCause.allCases.map(\.rawValue))
        #expect(report.abandonsByCause.keys.allSatisfy { known.contains($0) })
        #expect(report.ofcomAbandonRate >= report.abandonRate)
    }

    @Test func theAnswerRateJumpScenarioRuns() throws {
        var scenario = blended(seed: 13, callersPerHour: 0)
        scenario.inboundQueues = []
        scenario.teams = [.init(agents: 10, ranks: [sales: 1])]
        scenario.shiftHours = 0.5
        scenario.population.outcomes = .init(live: 0.15, machine: 0.15, busy: 0.05, noAnswer: 0.55, invalid: 0.1)
        scenario.answerRateSchedule = [.init(fromHour: 0.25, live: 0.45)]
        try scenario.validate()
        let report = ClusterRun(scenario: scenario).run()
        #expect(report.liveAnswers > 50)
        #expect(report.worstRolling1hAbandonRate != nil || report.liveAnswers < 100)
    }

    @Test func aClusterScenarioFileIsReadAndCheckedField() throws {
        let json = """
            {"engine": "cluster", "name": "f", "shiftHours": 1, "agents": 5,
             "campaigns": [{"queue": "sales", "mode": "predictive"}]}
            """
        let scenario = try ClusterScenario.decode(json: Data(json.utf8))
        #expect(scenario.teams == [.init(agents: 5, ranks: [sales: 1])])
        let bad = """
            {"engine": "cluster", "name": "f", "shiftHours": 1, "agents": 5, "timeScale": -2,
             "campaigns": [{"queue": "sales", "mode": "predictive"}]}
            """
        #expect(throws: ScenarioError.self) { try ClusterScenario.decode(json: Data(bad.utf8)) }
        do {
            _ = try ClusterScenario.decode(json: Data(bad.utf8))
        } catch {
            #expect(error.field == "timeScale")
        }
        let unknown = #"{"name": "f", "shiftHours": 1, "agents": 5, "campaigns": [], "latency": 3}"#
        do {
            _ = try ClusterScenario.decode(json: Data(unknown.utf8))
            Issue.record("an unknown field was accepted")
        } catch {
            #expect(error.field == "latency")
        }
    }

    @Test func theShippedClusterScenariosLoad() throws {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("scenarios/agents-10.json").path)
        {
            let parent = directory.deletingLastPathComponent()
            try #require(parent.path != directory.path, "no scenarios/ above \(#filePath)")
            directory = parent
        }
        directory.appendPathComponent("scenarios")
        for name in ["cluster-agents-100", "cluster-blended-100", "cluster-two-campaigns", "cluster-answer-rate-jumps"]
        {
            let path = directory.appendingPathComponent(name + ".json").path
            #expect(ClusterScenario.isClusterScenario(path: path))
            let scenario = try ClusterScenario.load(path: path)
            #expect(scenario.name == name)
            #expect(scenario.agents == 100)
        }
    }
}
