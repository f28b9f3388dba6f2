import DialerCore
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

private struct CampaignReport: Decodable {
    var attempts: Int
    var openAttempts: Int
    var attemptsByOutcome: [String: Int]
}

private struct GrantLog: Decodable {
    struct Entry: Decodable {
        var agent: String
        var request: String
        var queue: String
        var event: String
    }
    var entries: [Entry]
}

@Suite("Cluster: inbound calls reach agents through the gateway", .serialized)
struct InboundClusterTests {
    /// A service line's callers and the open contacts of a campaign call the inbound queue's
    /// numbers. The node owning the inbound queue takes the calls; the manager routes each
    /// caller: a contact of the (paused) campaign goes to the campaign's agents, who serve
    /// only the campaign's queue, and the call is recorded as an attempt on the contact; the
    /// others go to the service agents.
    @Test func callersAreRoutedToTheCampaignTheyAreContactsOfOrToTheLine() async throws {
        let contactNumbers = (0..<10).map { String(format: "+8131230%04d", $0) }
        var timings = LocalTestCluster.Timings()
        timings.trunkTimeScale = 60
        // Call time: a caller waits up to five minutes and talks a minute; about one call per
        // wall second on each line.
        timings.trunkPopulationJSON = """
            {"talkSeconds": {"mean": 60, "sd": 20},
             "inbound": [
               {"did": "+15550200", "callsPerHour": 60, "patienceSeconds": {"fixed": 300}},
               {"did": "+15550201", "callsPerHour": 60, "patienceSeconds": {"fixed": 300},
                "fromNumbers": [\(contactNumbers.map { "\"\($0)\"" }.joined(separator: ", "))]}
             ]}
            """
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: [("sales", "campaign"), ("support", "inbound")],
            dids: ["support": ["+15550200", "+15550201"]], timings: timings)
        await cluster.runThenShutDown { try await run($0, contactNumbers: contactNumbers) }
    }

    private func run(_ cluster: LocalTestCluster, contactNumbers: [String]) async throws {
        try await cluster.start()
        let api = cluster.manager
        let post = cluster.post
        try await post("v1/lists", #"{"id": "leads", "name": "Leads"}"#)
        let rows = contactNumbers.map { #"{"phone": "\#($0)"}"# }
        try await post("v1/lists/leads/imports?format=json&wait=true", "[" + rows.joined(separator: ",") + "]")
        // Disabled: nothing is dialed, so every attempt on these contacts is a call they made.
        try await post(
            "v1/campaigns",
            #"""
            {"id": "spring", "name": "Spring", "list": "leads", "queue": "sales", "settings": {"mode": "power",
             "status": "disabled", "maximum_attempts": 100, "time_zone": "Asia/Tokyo"}}
            """#)
        try await post("v1/campaigns/spring/dispositions", #"{"name": "sale", "kind": "retry"}"#)
        try await post(
            "v1/teams", #"{"id": "service", "name": "Service", "queue_ranking": [{"queue": "support", "rank": 1}]}"#)
        try await post(
            "v1/teams", #"{"id": "sellers", "name": "Sellers", "queue_ranking": [{"queue": "sales", "rank": 1}]}"#)
        let service = (0..<3).map { "s\($0)" }
        let sellers = (0..<3).map { "c\($0)" }
        for agent in service + sellers {
            let team = agent.hasPrefix("s") ? "service" : "sellers"
            try await post(
                "v1/agents",
                #"{"id": "\#(agent)", "login": "\#(agent)", "name": "\#(agent)", "team": "\#(team)", "password": "password-\#(agent)"}"#
            )
        }
        @Sendable func report() async throws -> CampaignReport {
            try await api.get("v1/campaigns/spring/report", as: CampaignReport.self)
        }

        let address = cluster.gatewayClusterAddress.split(separator: ":")
        let pool = SyntheticAgentPool(
            accounts: (service + sellers).map { .init(login: $0, password: "password-\($0)") },
            profile: SyntheticAgentProfile(
                talkSeconds: .logNormal(mean: 60, standardDeviation: 20), wrapUpSeconds: .fixed(seconds: 5),
                dispositions: [.init(name: "sale", weight: 1)]),
            seed: 5)
        let (served, summary) = try await pool.run(
            host: String(address[0]), port: Int(address[1])!,
            settings: { cluster.connectionSettings(for: $0.login) },
            clock: ScaledClock(base: SystemClock(), scale: 60)
        ) { _ in
            await cluster.waitUntil(timeout: .seconds(60)) {
                let log = try await ManagerHTTPClient(address: cluster.httpAddress(of: "gateway")).get(
                    "v1/reservations/log", as: GrantLog.self)
                let connected = log.entries.filter { $0.event == "connected" && $0.queue == "support" }
                let callbacks = try await report().attemptsByOutcome["connected"] ?? 0
                return connected.contains { $0.agent.hasPrefix("c") } && connected.contains { $0.agent.hasPrefix("s") }
                    && callbacks >= 2
            }
        }
        let log = try await ManagerHTTPClient(address: cluster.httpAddress(of: "gateway")).get(
            "v1/reservations/log", as: GrantLog.self)
        try #require(served, "inbound calls did not reach both teams: \(log.entries.suffix(20))")
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        // Every call on the line reached an agent of a queue it may go to: a seller only through
        // a callback's routing, since sellers do not serve the line.
        #expect(log.entries.filter { $0.event == "granted" }.allSatisfy { $0.queue == "support" })
        // The campaign's contacts who called were served as attempts of the campaign, and each
        // attempt ends: reported when an agent took the call, given back when the caller gave up.
        let settled = await cluster.waitUntil(timeout: .seconds(30)) { try await report().openAttempts == 0 }
        let last = try await report()
        #expect(settled, "open attempts left: \(last)")
        #expect((last.attemptsByOutcome["connected"] ?? 0) >= 2)
        #expect(last.attemptsByOutcome.keys.allSatisfy { $0 == "connected" }, "\(last.attemptsByOutcome)")
    }
}
