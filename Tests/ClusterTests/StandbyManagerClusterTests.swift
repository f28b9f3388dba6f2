import DialerRuntime
import DialerTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

private struct CampaignReport: Decodable {
    var attempts: Int
    var openAttempts: Int
    var contacts: Int
    var contactsByState: [String: Int]
    var attemptsByOutcome: [String: Int]
}

/// Two managers share one database (a SQLite file, or a PostgreSQL database); the active one is killed with -9 while an agentless
/// campaign runs. The standby takes the manager lease over once it expires, continues the
/// queues' epochs from the journal in the database, and the campaign runs to its end: every
/// contact is dialed once, and every result the nodes reported is in the store.
@Suite("Cluster: a standby manager takes over", .serialized)
struct StandbyManagerClusterTests {
    static let contacts = 300
    static let leaseMs = 2000

    @Test(arguments: ["sqlite", "postgres"])
    func theStandbyTakesOverFromAKilledActiveManager(_ store: String) async throws {
        var timings = LocalTestCluster.Timings()
        if store == "postgres" {
            switch await TestPostgres.shared() {
            case .failure(let why):
                if toolsRequired { Issue.record("PostgreSQL is required (DIALER_REQUIRE_TOOLS=1): \(why)") }
                print("skipped on PostgreSQL: \(why)")
                return
            case .success(let server):
                timings.database = server.url(database: try await server.createDatabase())
            }
        }
        timings.leaseMs = Self.leaseMs
        timings.trunkTimeScale = 30
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: [("ivr", "campaign")], standbys: ["standby-1"], timings: timings)
        await cluster.runThenShutDown { try await run($0, store: store) }
    }

    /// A manager's handed-out attempts, by its metrics (nil when it does not answer).
    private func handedOut(_ cluster: LocalTestCluster, _ manager: String) async -> Double? {
        guard let text = try? await cluster.metrics(of: manager) else { return nil }
        return Self.sum(text, "dialer_manager_attempts_handed_out_total")
    }

    static func sum(_ metrics: String, _ name: String) -> Double {
        metrics.split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    private func run(_ cluster: LocalTestCluster, store: String) async throws {
        try await cluster.start()
        let standby = ManagerHTTPClient(address: cluster.httpAddress(of: "standby-1"), token: cluster.adminToken)
        try await cluster.post("v1/lists", #"{"id": "tokyo", "name": "Tokyo"}"#)
        let rows = (0..<Self.contacts).map { String(format: #"{"phone": "+813123%05d"}"#, $0) }
        try await cluster.post(
            "v1/lists/tokyo/imports?format=json&default_region=JP&wait=true", "[" + rows.joined(separator: ",") + "]")
        try await cluster.post(
            "v1/campaigns",
            #"""
            {"id": "ivr", "name": "IVR", "list": "tokyo", "queue": "ivr", "settings": {"mode": "agentless",
             "ivr_ports": 6, "status": "enabled", "maximum_attempts": 1, "time_zone": "Asia/Tokyo",
             "calling_hours": {"start": "00:00", "end": "24:00"}}}
            """#)
        // The standby serves reads from the shared database.
        @Sendable func report() async throws -> CampaignReport {
            try await standby.get("v1/campaigns/ivr/report", as: CampaignReport.self)
        }

        let started = await cluster.waitUntil(timeout: .seconds(30)) { try await report().attempts >= 40 }
        try #require(started, "the campaign never started dialing")
        #expect(await handedOut(cluster, "standby-1") == 0, "the standby handed nothing out while standing by")
        let before = try #require(try await cluster.table().queues.first { $0.id == "ivr" })
        try #require(before.owner != nil)

        cluster.launcher.signal("manager", SIGKILL)
        let killedAt = ContinuousClock.now
        var firstHandOut: Duration?
        let tookOver = await cluster.waitUntil(timeout: .seconds(60)) {
            if (await handedOut(cluster, "standby-1") ?? 0) > 0 {
                firstHandOut = ContinuousClock.now - killedAt
                return true
            }
            return false
        }
        try #require(tookOver, "the standby never handed out a contact")
        let takeover = try #require(firstHandOut)
        print(
            "standby takeover (\(store)): first hand-out \(takeover) after kill -9 (manager lease \(Self.leaseMs) ms)")

        // The new active manager moves the queue (a drain of its owner): the next grant
        // continues the journal's epochs, above every epoch the old manager issued.
        let owner = try #require(
            try await standby.get("v1/cluster", as: ClusterTable.self).queues.first { $0.id == "ivr" }?.owner)
        let (status, _) = try await standby.send("POST", "v1/nodes/\(owner)/drain")
        #expect(status == 202)
        var moved: ClusterTable.Queue?
        let movedOn = await cluster.waitUntil(timeout: .seconds(30)) {
            moved = try await standby.get("v1/cluster", as: ClusterTable.self).queues.first { $0.id == "ivr" }
            return moved?.owner != nil && moved?.owner != owner
        }
        try #require(movedOn, "the queue did not move off the drained node: \(String(describing: moved))")
        #expect((moved?.epoch ?? 0) > before.epoch, "epoch \(moved?.epoch ?? 0) after the move, \(before.epoch) before")

        let finished = await cluster.waitUntil(timeout: .seconds(180)) {
            let now = try await report()
            return now.contactsByState["final"] == Self.contacts && now.openAttempts == 0
        }
        let last = try await report()
        try #require(finished, "the campaign did not finish after the take-over: \(last)")

        // Epochs continue from the database's journal: never lower than under the old manager.
        let standbyTable = try await standby.get("v1/cluster", as: ClusterTable.self)
        let after = try #require(standbyTable.queues.first { $0.id == "ivr" })
        #expect(after.epoch >= before.epoch, "epoch \(after.epoch) after the take-over, \(before.epoch) before")
        print(
            "queue ivr: epoch \(before.epoch) (\(before.owner ?? "-")) before, \(after.epoch) (\(after.owner ?? "-")) after"
        )

        // No contact handed out twice; no result lost: the nodes are alive, so every attempt
        // has the outcome its node reported (none closed as unknown), and no report waits.
        #expect(last.attempts == Self.contacts, "one attempt per contact: \(last)")
        #expect(last.attemptsByOutcome.values.reduce(0, +) == last.attempts)
        #expect((last.attemptsByOutcome["unknown"] ?? 0) == 0, "results lost: \(last.attemptsByOutcome)")
        var acknowledged = 0.0
        for node in ["node-1", "node-2"] {
            let metrics = try await cluster.metrics(of: node)
            acknowledged += Self.sum(metrics, "dialer_node_reports_acknowledged_total")
            #expect(Self.sum(metrics, "dialer_node_reports_waiting") == 0, "\(node) still has reports to deliver")
        }
        #expect(acknowledged >= Double(last.attempts), "nodes' acknowledged reports \(acknowledged)")
    }
}
