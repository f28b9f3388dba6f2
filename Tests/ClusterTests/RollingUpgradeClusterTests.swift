import DialerCore
import DialerLoad
import DialerRuntime
import DialerTestSupport
import Foundation
import Testing

private struct CampaignReport: Decodable {
    var attempts: Int
    var openAttempts: Int
    var contactsByState: [String: Int]
    var attemptsByOutcome: [String: Int]
}

/// A rolling upgrade between protocol versions 1 and 2 (PROTOCOL.md §8, docs/UPGRADE.md), with
/// real processes: the pin `cluster.protocol_version_max` stands for an old binary, which speaks
/// exactly what a pinned one does.
@Suite("Cluster: a rolling upgrade between protocol versions 1 and 2", .serialized)
struct RollingUpgradeClusterTests {
    /// Two queues that placement gives each node when both are up, so that both versions carry
    /// results.
    static let campaigns: [String] = {
        let nodes = [MemberID("node-1"), MemberID("node-2")]
        let candidates = (1...64).map { "q\($0)" }
        func owned(by node: String) -> [String] {
            candidates.filter { Rendezvous.owner(of: QueueID($0), among: nodes) == MemberID(node) }
        }
        return Array(owned(by: "node-1").prefix(2)) + Array(owned(by: "node-2").prefix(2))
    }()
    static let contactsPerCampaign = 200
    static let pinnedToOne = ["--set", "cluster.protocol_version_max=1"]

    /// The manager speaks 2; the gateway and node-1 are pinned to 1, node-2 speaks 2. Agentless
    /// campaigns on four queues run across both nodes: the cluster table shows each member's
    /// version, node-1 reports results one frame each and node-2 in batches. Then node-1 is
    /// restarted unpinned (a rolling step): it comes back at version 2 and the campaigns run to
    /// the end, every contact dialed once and every result recorded once.
    @Test func aMixedClusterRunsItsCampaignsThroughAnUpgradeStep() async throws {
        var timings = LocalTestCluster.Timings()
        timings.trunkTimeScale = 60
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: Self.campaigns.map { ($0, "campaign") }, timings: timings)
        await cluster.runThenShutDown { try await run($0) }
    }

    private func run(_ cluster: LocalTestCluster) async throws {
        try await cluster.startManager()
        try await cluster.startGateway(extraArguments: Self.pinnedToOne)
        try await cluster.startNode("node-1", extraArguments: Self.pinnedToOne)
        try await cluster.startNode("node-2")
        let api = cluster.manager
        for queue in Self.campaigns {
            try await cluster.post("v1/lists", #"{"id": "list-\#(queue)", "name": "List \#(queue)"}"#)
            let rows = (0..<Self.contactsPerCampaign).map {
                String(format: #"{"phone": "+8131%02d%04d"}"#, Self.campaigns.firstIndex(of: queue)!, $0)
            }
            try await cluster.post(
                "v1/lists/list-\(queue)/imports?format=json&default_region=JP&wait=true",
                "[" + rows.joined(separator: ",") + "]")
            try await cluster.post(
                "v1/campaigns",
                #"""
                {"id": "c-\#(queue)", "name": "Campaign \#(queue)", "list": "list-\#(queue)", "queue": "\#(queue)",
                 "settings": {"mode": "agentless", "ivr_ports": 2, "status": "enabled", "maximum_attempts": 1,
                 "time_zone": "Asia/Tokyo", "calling_hours": {"start": "00:00", "end": "24:00"}}}
                """#)
        }
        func reports() async throws -> [CampaignReport] {
            var all: [CampaignReport] = []
            for queue in Self.campaigns {
                all.append(try await api.get("v1/campaigns/c-\(queue)/report", as: CampaignReport.self))
            }
            return all
        }
        func versions() async throws -> [String: UInt32] {
            Dictionary(uniqueKeysWithValues: try await cluster.table().nodes.map { ($0.id, $0.protocolVersion ?? 0) })
        }
        func resultFrames(of node: String) async throws -> (reports: Double, batches: Double) {
            let samples = PrometheusText.samples(
                "dialer_node_result_frames_total", in: try await cluster.metrics(of: node))
            func value(_ kind: String) -> Double {
                samples.filter { $0.labels.contains(#"kind="\#(kind)""#) }.reduce(0) { $0 + $1.value }
            }
            return (value("report"), value("batch"))
        }

        // 1. Mixed versions: the manager saw both.
        let mixed = await cluster.waitUntil(timeout: .seconds(30)) {
            try await versions() == ["gateway": 1, "node-1": 1, "node-2": 2]
        }
        let seen = try await versions()
        try #require(mixed, "cluster table: \(seen)")
        let dialing = await cluster.waitUntil(timeout: .seconds(60)) {
            try await reports().map(\.attempts).reduce(0, +) >= Self.campaigns.count * Self.contactsPerCampaign / 10
        }
        let early = try await reports()
        try #require(dialing, "the campaigns did not dial: \(early)")
        // Each node reports its results the way its connection's version says.
        let bothWays = await cluster.waitUntil(timeout: .seconds(60)) {
            let (old, new) = (try await resultFrames(of: "node-1"), try await resultFrames(of: "node-2"))
            return old.reports > 0 && new.batches > 0
        }
        let (old, new) = (try await resultFrames(of: "node-1"), try await resultFrames(of: "node-2"))
        #expect(bothWays, "node-1 \(old), node-2 \(new)")
        #expect(old.batches == 0, "node-1 at version 1 sends no batches: \(old)")
        #expect(new.reports == 0, "node-2 at version 2 sends no single reports: \(new)")

        // 2. A rolling step: node-1 stops (handing its queues and results over) and comes back
        // unpinned, at version 2.
        let before = try await reports().map(\.attempts).reduce(0, +)
        cluster.launcher.signal("node-1", SIGTERM)
        let exited = await cluster.launcher.waitForExit("node-1", timeout: .seconds(30))
        try #require(exited != nil, "node-1 did not stop on SIGTERM")
        try await cluster.startNode("node-1")
        let upgraded = await cluster.waitUntil(timeout: .seconds(30)) {
            try await versions() == ["gateway": 1, "node-1": 2, "node-2": 2]
        }
        let after = try await versions()
        try #require(upgraded, "cluster table: \(after)")

        // 3. The campaigns go on to the end: each contact dialed once, each result recorded once.
        let total = Self.campaigns.count * Self.contactsPerCampaign
        let finished = await cluster.waitUntil(timeout: .seconds(240)) {
            let now = try await reports()
            return now.allSatisfy { $0.contactsByState["final"] == Self.contactsPerCampaign && $0.openAttempts == 0 }
        }
        let last = try await reports()
        try #require(finished, "the campaigns did not finish: \(last)")
        let attempts = last.map(\.attempts).reduce(0, +)
        #expect(attempts > before, "dialing went on after the rolling step")
        #expect(attempts == total, "one attempt per contact: nothing dialed twice")
        for report in last {
            #expect(report.attemptsByOutcome.values.reduce(0, +) == report.attempts, "every attempt has one outcome")
        }
        // Each result was applied once: the manager counts the reports it applied (a result
        // sent again after a reconnection is a duplicate, not applied twice).
        let managerMetrics = try await cluster.metrics(of: "manager")
        let applied = PrometheusText.samples("dialer_manager_attempt_reports_total", in: managerMetrics)
            .filter { $0.labels.contains(#"result="applied""#) }.reduce(0) { $0 + $1.value }
        let closedUnknown = last.map { $0.attemptsByOutcome["unknown"] ?? 0 }.reduce(0, +)
        #expect(Int(applied) + closedUnknown == attempts, "applied \(applied), unknown \(closedUnknown)")
        let node2 = try await resultFrames(of: "node-2")
        let node2Results = PrometheusText.sum(
            "dialer_node_reports_acknowledged_total", in: try await cluster.metrics(of: "node-2"))
        print(
            "rolling upgrade: \(attempts) results; node-2 (version 2) had \(node2Results) acknowledged "
                + "in \(node2.batches) batch frames")
        let upgradedFrames = try await resultFrames(of: "node-1")
        #expect(upgradedFrames.reports == 0, "node-1 at version 2 sends no single reports: \(upgradedFrames)")
    }
}
