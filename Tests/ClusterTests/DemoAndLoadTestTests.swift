import DialerLoad
import DialerRuntime
import DialerTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs one of this build's executables; its output goes to a file (read on failure).
private final class Child {
    let process = Process()
    let outputPath: String

    init(_ executable: String, _ arguments: [String], directory: String) throws {
        outputPath = directory + "/\(executable).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: ClusterLauncher.ownBinDirectory + "/" + executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// SIGINT, then SIGKILL if it still runs after `grace`; blocks the caller (for `defer`).
    func stop(within grace: Duration) {
        kill(process.processIdentifier, SIGINT)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the exit; nil if still running at the timeout.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }
}

@Suite("The demo and the load tester as a user runs them", .serialized)
struct DemoAndLoadTestTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-demo-test-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `dialerctl demo` for a few seconds, kept running: its JSON summary adds up, and it equals
    /// what the manager's statistics API says after the demo ended. Callers ring the inbound
    /// queue's number meanwhile: agents take them, and they stay out of the campaign's figures.
    @Test func theDemosSummaryAddsUpAgainstTheManagersStatistics() async throws {
        let directory = try temporaryDirectory()
        let summaryPath = directory + "/summary.json"
        let demo = try Child(
            "dialerctl",
            [
                "demo", "--duration", "8", "--agents", "6", "--contacts", "300", "--nodes", "1", "--time-scale", "30",
                // About 8 callers in the 4 minutes of call time, on top of the campaign's calls.
                "--inbound-calls-per-minute", "2",
                "--run-directory", directory + "/run", "--summary-json", summaryPath, "--keep-running",
            ], directory: directory)
        var passed = false
        defer {
            if demo.process.isRunning { kill(demo.process.processIdentifier, SIGKILL) }
            if passed { try? FileManager.default.removeItem(atPath: directory) }
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while !FileManager.default.fileExists(atPath: summaryPath), demo.process.isRunning,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(200))
        }
        try #require(FileManager.default.fileExists(atPath: summaryPath), "no summary: \(demo.output)")
        // The file appears before its last byte lands: read it until it decodes.
        var decoded: DemoSummary?
        while decoded == nil, ContinuousClock.now < deadline {
            decoded = try? JSONDecoder().decode(
                DemoSummary.self, from: Data(contentsOf: URL(fileURLWithPath: summaryPath)))
            if decoded == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let summary = try #require(decoded, "the summary never parsed: \(demo.output)")
        #expect(summary.settled, "the calls ended before the summary")
        #expect(summary.attempts > 0, "\(demo.output)")
        #expect(summary.attemptsByOutcome.values.reduce(0, +) + summary.openAttempts == summary.attempts)
        #expect(summary.connected + summary.abandoned == summary.liveAnswers)
        // Each connected attempt reached a synthetic agent: the campaign's outbound calls, and the
        // inbound callers the manager routed to the campaign (none here: the callers' made-up
        // numbers are not the list's).
        #expect(summary.inbound.takenForCampaigns == 0)
        #expect(
            summary.agentCampaignCalls + summary.inbound.takenForCampaigns == summary.connected,
            "each connected call reached a synthetic agent")
        // Inbound callers arrived on the number and agents took them; the nodes count a caller
        // taken before the agent hears of it.
        #expect(summary.inbound.arrived > 0, "no inbound caller: \(demo.output)")
        #expect(summary.inbound.taken > 0, "no inbound caller was taken: \(summary.inbound)")
        #expect(summary.agentInboundCalls > 0)
        #expect(summary.agentInboundCalls <= summary.inbound.taken)
        #expect(summary.agentCalls == summary.agentCampaignCalls + summary.agentInboundCalls)
        #expect(demo.output.contains("inbound callers"), "the table shows them")
        #expect(summary.agentFailures == 0)
        #expect(summary.contactsLeft <= summary.contacts - (summary.attempts - summary.openAttempts))

        // The cluster still runs: the manager's statistics are the summary's.
        let token = try String(contentsOfFile: summary.adminTokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let api = try #require(URL(string: summary.api))
        let client = ManagerHTTPClient(
            address: "\(api.host ?? "127.0.0.1"):\(api.port ?? 0)", token: token)
        let report = try await CampaignSetup(api: client).report(campaign: summary.campaign)
        #expect(report == summary.managerReport)
        #expect(report.attempts == summary.attempts)
        #expect(report.liveAnswers == summary.liveAnswers)
        #expect(report.connected == summary.connected)
        #expect(report.abandons == summary.abandoned)
        #expect(report.contactsLeft == summary.contactsLeft)
        #expect(FileManager.default.fileExists(atPath: summary.database))

        kill(demo.process.processIdentifier, SIGINT)
        let status = await demo.waitForExit(timeout: .seconds(30))
        #expect(status == 0, "dialerctl demo after Ctrl-C: \(demo.output)")
        passed = status == 0
    }

    /// `dialerctl up` on a file with a `[[standby]]`: it starts both managers, the standby with
    /// `--id`, hands the gateway and the node both managers' addresses, one manager is active
    /// and the other stands by, and Ctrl-C stops them all.
    @Test func upStartsEveryManagerAndHandsTheOthersAllTheirAddresses() async throws {
        let directory = try temporaryDirectory()
        let configPath = directory + "/cluster.toml"
        try """
        [cluster]
        secret = "up-test-secret"
        run_directory = "\(directory)/run"

        [manager]
        cluster_address = "127.0.0.1:0"
        http_address = "127.0.0.1:0"
        database = "\(directory)/dialer.sqlite"
        password_iterations = 1000

        [[standby]]
        id = "manager-2"
        cluster_address = "127.0.0.1:0"
        http_address = "127.0.0.1:0"

        [gateway]
        cluster_address = "127.0.0.1:0"
        http_address = "127.0.0.1:0"

        [[node]]
        id = "node-1"
        http_address = "127.0.0.1:0"

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let up = try Child("dialerctl", ["up", "--config", configPath], directory: directory)
        var passed = false
        defer {
            // A failed check: Ctrl-C first, so that dialerctl stops the processes it started
            // (SIGKILL would leave them running without it).
            if up.process.isRunning { up.stop(within: .seconds(30)) }
            if passed { try? FileManager.default.removeItem(atPath: directory) }
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while !up.output.contains("cluster up"), up.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = up.output
        try #require(output.contains("cluster up"), "dialerctl up: \(output)")
        // "manager  manager-2  cluster 127.0.0.1:P, http 127.0.0.1:Q  log ..."
        func httpAddress(of id: String) -> String? {
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.count > 1, words[1] == id, let http = words.firstIndex(of: "http"),
                    http + 1 < words.count
                else { continue }
                return String(words[http + 1])
            }
            return nil
        }
        let managers = ["manager", "manager-2"].compactMap { httpAddress(of: $0) }
        try #require(managers.count == 2, "the managers' HTTP addresses: \(output)")

        // The gateway and the node were started with both managers' cluster addresses.
        let commandLines = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { entry -> String? in
            guard Int(entry) != nil,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let line = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            return line.contains(configPath) ? line : nil
        }
        for executable in ["agent-gateway", "dialer-node"] {
            let line = try #require(commandLines.first { $0.contains("/\(executable) ") }, "\(commandLines)")
            let words = line.split(separator: " ")
            let flag = try #require(words.firstIndex(of: "--manager-address"), "\(line)")
            #expect(words[flag + 1].split(separator: ",").count == 2, "\(executable): \(line)")
        }

        // One manager holds the lease, the other stands by.
        var active: [Int] = []
        while ContinuousClock.now < deadline {
            active = []
            for address in managers {
                let metrics = try? await ManagerHTTPClient(address: address, token: nil).send("GET", "metrics")
                let text = metrics.map { String(decoding: $0.body, as: UTF8.self) }
                let value = text?.split(separator: "\n").first { $0.hasPrefix("dialer_manager_active ") }
                active.append(
                    value.flatMap { Double(String($0.split(separator: " ").last ?? "")) }.map { Int($0) } ?? -1)
            }
            if active.sorted() == [0, 1] { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(active.sorted() == [0, 1], "dialer_manager_active on the two managers: \(active)")

        kill(up.process.processIdentifier, SIGINT)
        let status = await up.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "dialerctl up after Ctrl-C: \(up.output)")
        #expect(up.output.contains("stopped"))
        passed = status == 0
    }

    /// `kill -INT` of `dialer-loadtest` mid-run, as a script sends it (Ctrl-C in a terminal
    /// signals the whole process group; this signals the load tester alone): it stops the
    /// cluster it started before it exits.
    @Test func anInterruptedLoadTestStopsTheClusterItStarted() async throws {
        let directory = try temporaryDirectory()
        let run = directory + "/run"
        let loadtest = try Child(
            "dialer-loadtest",
            [
                "--agents", "6", "--nodes", "1", "--duration", "600", "--contacts", "100", "--quiet",
                "--run-directory", run, "--json", directory + "/result.json",
            ],
            directory: directory)
        var passed = false
        defer {
            if loadtest.process.isRunning { kill(loadtest.process.processIdentifier, SIGKILL) }
            if passed { try? FileManager.default.removeItem(atPath: directory) }
        }
        let readyFiles = ["manager", "gateway", "node-1"].map { run + "/\($0).ready.json" }
        _ = await waitForCondition(timeout: .seconds(120)) {
            readyFiles.allSatisfy(FileManager.default.fileExists) || !loadtest.process.isRunning
        }
        try #require(readyFiles.allSatisfy(FileManager.default.fileExists), "the cluster started: \(loadtest.output)")
        let members = try readyFiles.map { path -> Int32 in
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            let pid = try #require((object as? [String: Any])?["pid"] as? Int)
            return try #require(Int32(exactly: pid))
        }
        kill(loadtest.process.processIdentifier, SIGINT)
        let status = await loadtest.waitForExit(timeout: .seconds(120))
        try #require(status != nil, "the load tester ends on SIGINT: \(loadtest.output)")
        for pid in members {
            #expect(!Self.isAlive(pid), "member \(pid) stopped with the load tester: \(loadtest.output)")
        }
        #expect(loadtest.output.contains("stopping the run and its cluster"))
        passed = true
    }

    /// Whether `pid` runs (a zombie, exited and not yet reaped, does not).
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    /// `dialer-loadtest` at a small size: it starts its cluster, runs, and writes a JSON that parses.
    @Test func theLoadTesterRunsSmallAndItsJSONParses() async throws {
        let directory = try temporaryDirectory()
        let jsonPath = directory + "/result.json"
        let loadtest = try Child(
            "dialer-loadtest",
            [
                // 3 callers a minute keep about 5 of the 12 agents busy, and leave the campaign the rest.
                "--agents", "12", "--nodes", "1", "--duration", "4", "--contacts", "300", "--inbound-calls-per-minute",
                "3", "--quiet", "--json", jsonPath,
            ],
            directory: directory)
        var passed = false
        defer {
            if loadtest.process.isRunning { kill(loadtest.process.processIdentifier, SIGKILL) }
            if passed { try? FileManager.default.removeItem(atPath: directory) }
        }
        let status = await loadtest.waitForExit(timeout: .seconds(120))
        try #require(status == 0, "dialer-loadtest: \(loadtest.output)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        let result = try #require(object as? [String: Any])
        for key in [
            "attempts", "attempts_per_second", "grants_per_second", "frames", "occupancy", "abandon_rate",
            "reservation_round_trip", "agent_operation_round_trip", "answer_to_bridge", "agent_ready_to_dial_decision",
            "inbound_traffic", "agent_inbound_calls", "trunk", "errors", "agent_reconnections", "processes",
            "scheduling_lag",
        ] {
            #expect(result.keys.contains(key), "\(key) missing")
        }
        // Each process's own scheduling lag, sampled all along the run.
        let lag = try #require(result["scheduling_lag"] as? [String: [String: Any]])
        #expect(Set(lag.keys).contains("gateway") && lag.keys.contains { $0.hasPrefix("node ") }, "\(lag.keys)")
        for (process, figures) in lag { #expect((figures["count"] as? Double ?? 0) > 0, "\(process): \(figures)") }
        let processes = try #require(result["processes"] as? [[String: Any]])
        #expect(Set(processes.compactMap { $0["role"] as? String }) == ["manager", "gateway", "node", "load-tester"])
        let agentTrips = try #require(result["agent_operation_round_trip"] as? [String: Any])
        #expect((agentTrips["count"] as? Int ?? 0) > 0, "the agents logged in and went ready")
        // Figures when the nodes keep the histogram, else a note saying why there are none.
        let readyToDial = try #require(result["agent_ready_to_dial_decision"] as? [String: Any])
        if let note = readyToDial["note"] as? String {
            #expect(note.contains("dialer_node_ready_to_dial_decision_seconds"))
            #expect(readyToDial["count"] as? Double == 0)
        } else {
            #expect((readyToDial["count"] as? Double ?? 0) > 0, "\(readyToDial)")
            #expect(readyToDial["p50_at_most_ms"] != nil || readyToDial["mean_ms"] != nil)
        }
        // About 6 callers in the 2 minutes of call time, more while the calls finish.
        let inbound = try #require(result["inbound_traffic"] as? [String: Any])
        #expect((inbound["arrived"] as? Int ?? 0) > 0, "\(inbound)")
        #expect((inbound["taken"] as? Int ?? 0) > 0, "\(inbound)")
        #expect(inbound["calls_per_minute"] as? Double == 3)
        #expect((result["agent_inbound_calls"] as? Int ?? 0) > 0)
        let trunk = try #require(result["trunk"] as? [String: Any])
        #expect((trunk["channels"] as? Int ?? 0) >= 100)
        #expect(loadtest.output.contains("inbound calls"), "the table shows them")
        passed = true
    }
}
