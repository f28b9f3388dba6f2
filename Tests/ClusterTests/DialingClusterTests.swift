import DialerCore
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

private struct Report: Decodable {
    var attempts: Int
    var openAttempts: Int
    var contacts: Int
    var contactsByState: [String: Int]
    var attemptsByOutcome: [String: Int]
    var attemptsByDisposition: [String: Int]
    var liveAnswers: Int
    var abandons: Int
}

@Suite("Cluster: nodes dial campaigns with real processes", .serialized)
struct DialingClusterTests {
    static let contacts = 300

    /// An agentless campaign runs on whichever node owns its queue, over the simulated trunk at
    /// a time scale; the owner is killed mid-run. The campaign goes on at the other node, the
    /// dead node's open attempts close as `unknown`, and at the end every contact is final (one
    /// attempt each) with the counts adding up.
    @Test func anAgentlessCampaignRunsToTheEndThroughTheLossOfItsNode() async throws {
        var timings = LocalTestCluster.Timings()
        timings.trunkTimeScale = 60
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: [("ivr", "campaign")], timings: timings)
        await cluster.runThenShutDown { try await run($0) }
    }

    private func run(_ cluster: LocalTestCluster) async throws {
        try await cluster.start()
        let api = cluster.manager
        let post = cluster.post
        try await post("v1/lists", #"{"id": "tokyo", "name": "Tokyo"}"#)
        let rows = (0..<Self.contacts).map { String(format: #"{"phone": "+813123%05d"}"#, $0) }
        try await post(
            "v1/lists/tokyo/imports?format=json&default_region=JP&wait=true", "[" + rows.joined(separator: ",") + "]")
        // Calling hours all day, so that the test does not depend on the hour it runs at.
        try await post(
            "v1/campaigns",
            #"""
            {"id": "ivr", "name": "IVR", "list": "tokyo", "queue": "ivr", "settings": {"mode": "agentless",
             "ivr_ports": 8, "status": "enabled", "maximum_attempts": 1, "time_zone": "Asia/Tokyo",
             "calling_hours": {"start": "00:00", "end": "24:00"}}}
            """#)
        func report() async throws -> Report { try await api.get("v1/campaigns/ivr/report", as: Report.self) }

        // Some calls are placed; then the owner dies.
        let started = await cluster.waitUntil(timeout: .seconds(30)) { try await report().attempts >= 40 }
        try #require(started, "the campaign never started dialing")
        let owner = try #require(try await cluster.table().queues.first { $0.id == "ivr" }?.owner)
        cluster.launcher.signal(owner, SIGKILL)

        let finished = await cluster.waitUntil(timeout: .seconds(120)) {
            let now = try await report()
            return now.contactsByState["final"] == Self.contacts && now.openAttempts == 0
        }
        let last = try await report()
        try #require(finished, "the campaign did not finish: \(last)")
        let survivor = try #require(try await cluster.table().queues.first { $0.id == "ivr" }?.owner)
        #expect(survivor != owner)
        #expect(last.contacts == Self.contacts)
        #expect(last.attemptsByOutcome.values.reduce(0, +) == last.attempts, "every attempt has one outcome")
        #expect(last.attempts == Self.contacts, "one attempt per contact: nothing dialed twice")
        #expect((last.attemptsByOutcome["unknown"] ?? 0) >= 1, "the dead node's attempts close as unknown")
        #expect((last.attemptsByOutcome["connected"] ?? 0) > 0)
    }

    /// A predictive campaign of 2,000 contacts with 20 synthetic agents on the gateway: calls
    /// are connected to agents, who send their dispositions; every contact ends final with one
    /// attempt, and the counts add up. Then again with the node owning the campaign killed
    /// mid-run: the other node carries on, the dead node's attempts close as `unknown`, and no
    /// contact is dialed twice.
    @Test(arguments: [false, true])
    func aPredictiveCampaignConnectsCallsToSyntheticAgents(killingItsNode: Bool) async throws {
        var timings = LocalTestCluster.Timings()
        timings.trunkTimeScale = 120
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: [("sales", "campaign")], timings: timings)
        await cluster.runThenShutDown { try await runPredictive($0, killingItsNode: killingItsNode) }
    }

    private func runPredictive(_ cluster: LocalTestCluster, killingItsNode: Bool) async throws {
        let contacts = 2_000
        let agents = 20
        try await cluster.start()
        let api = cluster.manager
        let post = cluster.post
        try await post("v1/lists", #"{"id": "leads", "name": "Leads"}"#)
        let rows = (0..<contacts).map { String(format: #"{"phone": "+813123%05d"}"#, $0) }
        try await post(
            "v1/lists/leads/imports?format=json&default_region=JP&wait=true", "[" + rows.joined(separator: ",") + "]")
        try await post("v1/teams", #"{"id": "blue", "name": "Blue", "queue_ranking": [{"queue": "sales", "rank": 1}]}"#)
        for index in 0..<agents {
            try await post(
                "v1/agents",
                #"{"id": "a\#(index)", "login": "a\#(index)", "name": "Agent \#(index)", "team": "blue", "password": "password-\#(index)"}"#
            )
        }
        try await post(
            "v1/campaigns",
            #"""
            {"id": "spring", "name": "Spring", "list": "leads", "queue": "sales", "settings": {"mode": "predictive",
             "status": "enabled", "maximum_attempts": 1, "time_zone": "Asia/Tokyo",
             "answering_machine": {"action": "hangUp"}, "calling_hours": {"start": "00:00", "end": "24:00"}}}
            """#)
        try await post("v1/campaigns/spring/dispositions", #"{"name": "sale", "kind": "final"}"#)
        @Sendable func report() async throws -> Report {
            try await api.get("v1/campaigns/spring/report", as: Report.self)
        }

        let address = cluster.gatewayClusterAddress.split(separator: ":")
        let pool = SyntheticAgentPool(
            accounts: (0..<agents).map { .init(login: "a\($0)", password: "password-\($0)") },
            profile: SyntheticAgentProfile(
                talkSeconds: .logNormal(mean: 60, standardDeviation: 30), wrapUpSeconds: .fixed(seconds: 5),
                dispositions: [.init(name: "sale", weight: 1)]),
            seed: 3)
        let (finished, summary) = try await pool.run(
            host: String(address[0]), port: Int(address[1])!,
            settings: { cluster.connectionSettings(for: $0.login) },
            clock: ScaledClock(base: SystemClock(), scale: 120)
        ) { _ in
            var killed: String?
            if killingItsNode {
                let started = await cluster.waitUntil(timeout: .seconds(60)) { try await report().attempts >= 400 }
                guard started else { return (false, killed) }
                killed = try? await cluster.table().queues.first { $0.id == "sales" }?.owner
                if let killed { cluster.launcher.signal(killed, SIGKILL) }
            }
            let finished = await cluster.waitUntil(timeout: .seconds(240)) {
                let now = try await report()
                return now.contactsByState["final"] == contacts && now.openAttempts == 0
            }
            return (finished, killed)
        }
        let last = try await report()
        try #require(finished.0, "the campaign did not finish: \(last)")
        print("predictive campaign finished: \(last); agents: \(summary.tally)")
        if killingItsNode {
            let killed = try #require(finished.1, "no owner to kill")
            let survivor = try await cluster.table().queues.first { $0.id == "sales" }?.owner
            #expect(survivor != nil && survivor != killed)
            #expect((last.attemptsByOutcome["unknown"] ?? 0) >= 1, "the dead node's attempts close as unknown")
        }
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        #expect(last.attempts == contacts, "one attempt per contact")
        #expect(last.attemptsByOutcome.values.reduce(0, +) == last.attempts)
        let connected = last.attemptsByOutcome["connected"] ?? 0
        #expect(connected > 0)
        #expect(connected + (last.attemptsByOutcome["abandoned"] ?? 0) == last.liveAnswers)
        #expect(summary.tally.calls >= connected, "each connected call reached a synthetic agent")
        #expect((last.attemptsByDisposition["sale"] ?? 0) > 0, "agents' dispositions reached the manager")
    }
}
