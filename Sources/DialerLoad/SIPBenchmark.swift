import DialerCore
import DialerMedia
import DialerRuntime
import DialerSimulation
import DialerTransport
import Foundation

/// `dialer-bench --only sip`: issue 13's two targets, measured on a real node against SIPp on
/// loopback (BENCHMARKS.md, "SIP calls").
///
/// 1. **Calls per second.** The baseline: SIPp as the caller (`sipp/bench-uac.xml`: INVITE with
///    SDP, ACK, the message played as RTP, BYE) to SIPp as the carrier
///    (`sipp/carrier-answer-rtp.xml`: 100, 180, 200 with SDP, the customer's audio as RTP until
///    the BYE), `rate` calls per second for `seconds`. Then the same calls placed by a node: a
///    cluster (manager, gateway, one node) whose `[[trunk]]` is the same SIPp carrier, running an
///    agentless campaign of `rate × seconds` contacts and 10 % more, that plays a message as long
///    as the baseline's and hangs up, capped 10 % above `rate` (`attempts_per_five_seconds`), so
///    that the cap does not hold the node at exactly the rate.
///    Reported: failed transactions, retransmissions and CPU seconds per call of every process.
/// 2. **200 OK to agent audio.** A progressive campaign with synthetic agents whose phones are
///    SIPp in auto-answer: the node's `dialer_sip_answer_to_agent_audio_seconds` (the customer's
///    200 OK as the node receives it, to the first customer RTP packet the node's relay sends to
///    the agent's phone port), its buckets bounding p50 and p99.
public enum SIPBenchmark {
    public struct Options: Sendable {
        /// Call attempts per second.
        public var rate = 100
        /// How long each run dials, in seconds.
        public var seconds = 60
        /// The message each call plays before hanging up.
        public var messageMilliseconds = 1_000
        /// Calls of the bridge (latency) run.
        public var bridgeCalls = 300
        /// Synthetic agents of the bridge run.
        public var agents = 20
        /// The repository's `sipp/` directory.
        public var scenarios = "sipp"
        /// Which parts: `load`, `bridge`, or both.
        public var parts: Set<String> = ["load", "bridge"]

        public init() {}
    }

    public static func report(options: Options, progress: @escaping @Sendable (String) -> Void) async throws -> String {
        guard let sipp = DemoCarrier.executable else {
            throw LoadTestError("--only sip needs SIPp: apt-get install -y sip-tester (or put sipp on PATH)")
        }
        let scenarios = URL(fileURLWithPath: options.scenarios).standardizedFileURL.path
        for name in ["carrier-answer-rtp.xml", "bench-uac.xml", "agent-phone.xml"]
        where !FileManager.default.fileExists(atPath: scenarios + "/" + name) {
            throw LoadTestError("--sipp-scenarios: \(scenarios)/\(name) is missing (run from the repository's root)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-sip-bench-\(UUID().uuidString.prefix(8).lowercased())"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The customer's audio (a tone, looped by the carrier) and the message (a tone of the
        // message's length, played once by the baseline's caller and by the node).
        func tone(_ samples: Int, _ hertz: Double) -> [Int16] {
            (0..<samples).map { Int16(6000 * sin(Double($0) * 2 * .pi * hertz / 8000)) }
        }
        try Data(WAVWriter.data(tone(8000, 440), encoding: .muLaw))
            .write(to: URL(fileURLWithPath: directory + "/customer.wav"))
        let message = Data(WAVWriter.data(tone(options.messageMilliseconds * 8, 600), encoding: .muLaw))
        try message.write(to: URL(fileURLWithPath: directory + "/message.wav"))
        try message.write(to: URL(fileURLWithPath: directory + "/campaign.wav"))

        var text =
            "SIP benchmark: \(ProcessInfo.processInfo.activeProcessorCount) cores, load average "
            + loadAverage() + "\n"
        if options.parts.contains("load") {
            text += try await load(sipp: sipp, scenarios: scenarios, directory: directory, options, progress)
        }
        if options.parts.contains("bridge") {
            text += try await bridge(sipp: sipp, scenarios: scenarios, directory: directory, options, progress)
        }
        text += "load average at the end " + loadAverage() + "\n"
        return text
    }

    // MARK: Calls per second

    private static func load(
        sipp: String, scenarios: String, directory: String, _ options: Options,
        _ progress: @escaping @Sendable (String) -> Void
    ) async throws -> String {
        let calls = options.rate * options.seconds
        let timeout = ["-timeout", "\(options.seconds + 120)s"]

        progress("baseline: SIPp to SIPp, \(calls) calls at \(options.rate)/s")
        let baselineCarrier = try SIPpRun.start(
            sipp, name: "baseline-carrier", scenario: scenarios + "/carrier-answer-rtp.xml", directory: directory,
            arguments: ["-m", "\(calls)"] + timeout)
        let started = ContinuousClock.now
        let caller = try SIPpRun.start(
            sipp, name: "baseline-caller", scenario: scenarios + "/bench-uac.xml", directory: directory,
            arguments: [
                "-m", "\(calls)", "-r", "\(options.rate)", "-d", "\(options.messageMilliseconds)",
                "127.0.0.1:\(baselineCarrier.port)",
            ] + timeout)
        let callerStatus = await caller.wait()
        let baselineSeconds = (ContinuousClock.now - started).seconds
        let carrierStatus = await baselineCarrier.wait(orStopAfter: .seconds(30))
        let baseline = [caller.result(status: callerStatus), baselineCarrier.result(status: carrierStatus)]

        // The node's campaign is capped 10 % above the rate, with 10 % more contacts: the cap then
        // bounds bursts without holding the node at exactly the rate, so the windows show
        // whether it sustains the rate for the whole time.
        let nodeCalls = calls + calls / 10
        let cap = (options.rate + (options.rate + 9) / 10) * 5
        progress("node: an agentless campaign of \(nodeCalls) contacts through the node's SIP trunk")
        let carrier = try SIPpRun.start(
            sipp, name: "node-carrier", scenario: scenarios + "/carrier-answer-rtp.xml", directory: directory,
            arguments: ["-m", "\(nodeCalls)"] + timeout)
        // Enough IVR ports for the calls' whole length (ringing, the message, the hang-up) at a
        // little over the rate; the five-second cap holds the rate itself.
        let holdSeconds = Double(options.messageMilliseconds) / 1000 + 0.5
        let ports = min(1000, Int((Double(options.rate) * holdSeconds * 1.5).rounded(.up)))
        let cluster = try makeCluster(
            directory: directory + "/load-cluster", queue: "ivr", carrierPort: carrier.port, channels: ports + 50,
            promptDirectory: directory)
        var node = NodeRun(calls: nodeCalls)
        do {
            try await cluster.start()
            let setup = CampaignSetup(api: cluster.manager)
            try await setup.createList(id: "bench", name: "SIP benchmark", contacts: nodeCalls)
            node = try await NodeRun.measure(cluster: cluster, calls: nodeCalls, progress: progress) {
                try await setup.send(
                    "POST", "v1/campaigns",
                    CampaignBody(
                        id: "bench", list: "bench", queue: "ivr",
                        settings: .init(
                            mode: "agentless", ivrPorts: ports, attemptsPerFiveSeconds: cap)))
            }
        } catch {
            await cluster.stopUncancelled()
            carrier.stop()
            throw error
        }
        await cluster.stopUncancelled()
        let nodeCarrier = carrier.result(status: await carrier.wait(orStopAfter: .seconds(30)))

        var text =
            "\n## Calls per second: \(calls) calls at \(options.rate)/s, message \(options.messageMilliseconds) ms\n\n"
        text +=
            "baseline (SIPp caller to SIPp carrier), calls started: "
            + rates(baseline[0].perSecond("OutgoingCall(P)")) + String(format: "; %.1f s in all\n", baselineSeconds)
        text += SIPpResult.table(baseline) + "\n"
        text +=
            "node (agentless campaign of \(nodeCalls) contacts through the node's SIPTrunk, capped at \(cap / 5)/s, "
            + "the message played as RTP):\n"
        text += node.summary
        text += SIPpResult.table([nodeCarrier]) + "\n"
        let callerCPU = baseline[0].cpuPerCallMs(calls)
        let nodeCarrierCPU = nodeCarrier.cpuPerCallMs(nodeCalls)
        if let callerCPU, let nodeCPU = node.cpuPerCallMs, callerCPU > 0 {
            text += String(
                format: "node CPU per call / SIPp caller CPU per call: %.2f ms / %.2f ms = %.1f×\n", nodeCPU, callerCPU,
                nodeCPU / callerCPU)
        }
        if let a = baseline[1].cpuPerCallMs(calls), let b = nodeCarrierCPU {
            text += String(format: "SIPp carrier CPU per call: %.2f ms (baseline), %.2f ms (node)\n", a, b)
        }
        return text
    }

    // MARK: 200 OK to agent audio

    private static func bridge(
        sipp: String, scenarios: String, directory: String, _ options: Options,
        _ progress: @escaping @Sendable (String) -> Void
    ) async throws -> String {
        let calls = options.bridgeCalls
        progress("bridge: a progressive campaign of \(calls) contacts, \(options.agents) agents with SIPp phones")
        let timeout = ["-timeout", "600s"]
        let carrier = try SIPpRun.start(
            sipp, name: "bridge-carrier", scenario: scenarios + "/carrier-answer-rtp.xml", directory: directory,
            arguments: ["-m", "\(calls)"] + timeout)
        let phones = try SIPpRun.start(
            sipp, name: "bridge-phones", scenario: scenarios + "/agent-phone.xml", directory: directory,
            arguments: ["-m", "\(calls)", "-rtp_echo"] + timeout)
        let cluster = try makeCluster(
            directory: directory + "/bridge-cluster", queue: "sales", carrierPort: carrier.port,
            channels: options.agents * 2 + 10, promptDirectory: directory)
        let histogram = "dialer_sip_answer_to_agent_audio_seconds"
        var latency: BucketedLatency
        var report: CampaignReport
        do {
            try await cluster.start()
            let setup = CampaignSetup(api: cluster.manager)
            try await setup.createList(id: "leads", name: "SIP bridge benchmark", contacts: calls)
            try await setup.createTeam(id: "bench", name: "Bench", ranking: [("sales", 1)])
            let accounts = (1...options.agents).map { (login: "bench-a\($0)", password: "bench-secret-\($0)") }
            try await setup.createAgents(accounts, team: "bench")
            let probe = ClusterProbe(cluster: cluster)
            let nodes = try await probe.members().nodes
            let before = await probe.metrics(nodes: nodes)
            try await setup.send(
                "POST", "v1/campaigns",
                CampaignBody(id: "leads", list: "leads", queue: "sales", settings: .init(mode: "progressive")))
            try await setup.send("POST", "v1/campaigns/leads/dispositions", ["name": "sale", "kind": "final"])
            let address = cluster.gatewayClusterAddress.split(separator: ":")
            guard address.count == 2, let port = Int(address[1]) else {
                throw LoadTestError("the gateway's cluster address must be host:port")
            }
            let secret = cluster.secret
            let pool = SyntheticAgentPool(
                accounts: accounts.enumerated().map {
                    .init(
                        login: $1.login, password: $1.password,
                        phone: "sip:agent\($0 + 1)@127.0.0.1:\(phones.port)")
                },
                profile: SyntheticAgentProfile(
                    talkSeconds: .fixed(seconds: 1), wrapUpSeconds: .fixed(seconds: 0.2),
                    dispositions: [.init(name: "sale", weight: 1)]),
                seed: 13)
            let started = ContinuousClock.now
            let (finished, _) = try await pool.run(
                host: String(address[0]), port: port,
                settings: { ConnectionSettings(localID: $0.login, localRole: .agent, secret: ClusterSecret(secret)) },
                clock: SystemClock()
            ) { _ in
                while ContinuousClock.now - started < .seconds(600) {
                    let now = try await setup.report(campaign: "leads")
                    progress("bridge: \(now.attempts) of \(calls) attempts, \(now.connected) connected")
                    if now.contactsByState["final"] == calls && now.openAttempts == 0 { return true }
                    try await Task.sleep(for: .seconds(1))
                }
                return false
            }
            guard finished else { throw LoadTestError("the bridge run did not finish in 600 s") }
            report = try await setup.report(campaign: "leads")
            latency = BucketedLatency(
                histogram, start: before, end: await probe.metrics(nodes: nodes),
                source: "the node's \(histogram) histogram")
        } catch {
            await cluster.stopUncancelled()
            carrier.stop()
            phones.stop()
            throw error
        }
        await cluster.stopUncancelled()
        carrier.stop()
        phones.stop()
        func ms(_ value: Double?) -> String { value.map { String(format: "%.0f ms", $0) } ?? "over the largest bucket" }
        var text = "\n## Customer's 200 OK to agent audio: \(calls) contacts, progressive, \(options.agents) agents\n\n"
        text += "attempts \(report.attempts), connected \(report.connected), outcomes \(report.attemptsByOutcome)\n"
        text +=
            "from the customer's 200 OK (as the node received it) to the first customer RTP packet sent to the "
            + "agent's phone port, \(SIPBenchmark.whole(latency.count)) bridged calls:\n"
        text +=
            "p50 at most \(ms(latency.p50AtMostMs)), p99 at most \(ms(latency.p99AtMostMs)), mean "
            + (latency.meanMs.map { String(format: "%.1f ms", $0) } ?? "-")
            + " (bounds are the histogram's bucket edges: 1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75 ms ...)\n"
        if let note = latency.note { text += "note: \(note)\n" }
        return text
    }

    // MARK: Parts

    /// A cluster of one node whose trunk is the SIPp carrier at `carrierPort`.
    private static func makeCluster(
        directory: String, queue: String, carrierPort: Int, channels: Int, promptDirectory: String
    ) throws -> LocalCluster {
        var plan = LocalCluster.Plan(
            runDirectory: directory, nodes: ["node-1"], queues: [.init(id: queue, kind: "campaign")],
            trunkTimeScale: 1)
        // Two RTP ports per call, from a range no other run on the machine is likely to use.
        let low = 30_000 + Int.random(in: 0..<100) * 200
        plan.extraTOML = """

            [[trunk]]
            id = "sipp"
            kind = "sip"
            proxy = "127.0.0.1:\(carrierPort)"
            domain = "carrier.bench"
            bind_address = "127.0.0.1:0"
            channels = \(channels)
            calls_per_second = 1000
            media_port_min = \(low)
            media_port_max = \(low + max(2 * channels + 200, 2_000))
            keep_alive_ms = 0
            prompt_directory = "\(promptDirectory)"

            """
        return try LocalCluster(plan: plan)
    }

    private struct CampaignBody: Encodable {
        struct Settings: Encodable {
            struct Hours: Encodable {
                var start = "00:00"
                var end = "24:00"
            }
            var mode: String
            var status = "enabled"
            var maximumAttempts = 1
            var timeZone = "Asia/Tokyo"
            var callingHours = Hours()
            var ivrPorts: Int?
            var attemptsPerFiveSeconds: Int?
        }
        var id: String
        var name = "SIP benchmark"
        var list: String
        var queue: String
        var settings: Settings
    }

    /// The rate over the seconds that started calls (from the first to the last), and its
    /// lowest and highest over whole seconds and 5-second windows (what a five-second cap holds),
    /// leaving out the first and last seconds, which the start and the end cut short.
    /// A count read from another process's metrics, as a whole number: a value that is not
    /// finite (a malformed line) shows as 0 instead of trapping.
    static func whole(_ value: Double) -> Int {
        Int(exactly: value.rounded()) ?? 0
    }

    static func rates(_ perSecond: [Double]) -> String {
        var seconds = perSecond
        while seconds.first == 0 { seconds.removeFirst() }
        while seconds.last == 0 { seconds.removeLast() }
        guard !seconds.isEmpty else { return "none started" }
        var text = String(
            format: "%.1f/s over %d s of dialing", seconds.reduce(0, +) / Double(seconds.count), seconds.count)
        let inner = Array(seconds.dropFirst().dropLast())
        if let low = inner.min(), let high = inner.max() {
            text += String(format: "; whole seconds: min %.0f, max %.0f", low, high)
        }
        let windows = stride(from: 0, through: inner.count - 5, by: 5).map { inner[$0..<$0 + 5].reduce(0, +) / 5 }
        if let low = windows.min(), let high = windows.max() {
            text += String(format: "; 5-second windows: min %.1f/s, max %.1f/s", low, high)
        }
        // Every second, for a stall to be seen where it was.
        text += "\n    each second: " + seconds.map { String(SIPBenchmark.whole($0)) }.joined(separator: " ")
        return text
    }

    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// The node's side of the calls-per-second run: its calls placed each second, its SIP
/// counters, the CPU of the node and the manager while the campaign ran.
struct NodeRun {
    var calls: Int
    var summary = ""
    var cpuPerCallMs: Double?

    init(calls: Int) { self.calls = calls }

    /// Starts the campaign with `start` and watches the node once a second until every call ended.
    static func measure(
        cluster: LocalCluster, calls: Int, progress: @escaping @Sendable (String) -> Void,
        start: () async throws -> Void
    ) async throws -> NodeRun {
        let probe = ClusterProbe(cluster: cluster)
        let nodes = try await probe.members().nodes
        let members = cluster.launcher.members
        func cpu(_ role: String) -> Double {
            members.filter { $0.role == role }.compactMap { ProcessUsage.read(pid: $0.pid, role: $0.role, id: $0.id) }
                .reduce(0) { $0 + $1.cpuSeconds }
        }
        let before = await probe.metrics(nodes: nodes)
        let cpuBefore = (node: cpu("node"), manager: cpu("manager"), gateway: cpu("gateway"))
        try await start()
        let started = ContinuousClock.now
        var placed: [Double] = []
        var metrics = before
        var second = 0
        while ContinuousClock.now - started < .seconds(Double(calls) / 10 + 300) {
            // On whole seconds from the start, so that each sample's difference is one second's calls.
            second += 1
            try await Task.sleep(until: started + .seconds(second), clock: .continuous)
            metrics = await probe.metrics(nodes: nodes)
            let count = PrometheusText.sum("dialer_sip_calls_placed_total", in: metrics)
            placed.append(count)
            let inUse = PrometheusText.sum("dialer_sip_channels_in_use", in: metrics)
            progress(
                "node: \(SIPBenchmark.whole(count)) of \(calls) calls placed, "
                    + "\(SIPBenchmark.whole(inUse)) in progress")
            if count >= Double(calls) && inUse == 0 { break }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let cpuAfter = (node: cpu("node"), manager: cpu("manager"), gateway: cpu("gateway"))
        func delta(_ metric: String) -> Double {
            PrometheusText.sum(metric, in: metrics) - PrometheusText.sum(metric, in: before)
        }
        var run = NodeRun(calls: calls)
        let total = placed.last ?? 0
        let perSecond = zip(placed, [0] + placed).map { $0 - $1 }
        var statuses: [String: Double] = [:]
        for (labels, value) in PrometheusText.samples("dialer_sip_calls_total", in: metrics) {
            statuses[PrometheusText.labels(labels)["status"] ?? "?", default: 0] += value
        }
        let nodeCPU = cpuAfter.node - cpuBefore.node
        run.cpuPerCallMs = total > 0 ? nodeCPU / total * 1000 : nil
        var text = "  calls placed \(SIPBenchmark.whole(total)): " + SIPBenchmark.rates(perSecond) + "\n"
        text +=
            "  final SIP status of the INVITEs: \(statuses.sorted { $0.key < $1.key }.map { "\($0.key): \(SIPBenchmark.whole($0.value))" }.joined(separator: ", "))\n"
        text += String(
            format: "  transaction timeouts %.0f, retransmissions %.0f, malformed messages %.0f\n",
            delta("dialer_sip_transaction_timeouts_total"), delta("dialer_sip_retransmissions_total"),
            delta("dialer_sip_malformed_messages_total"))
        text += String(
            format:
                "  CPU over %.0f s: node %.2f s (%.2f ms per call), manager %.2f s (%.2f ms per call), gateway %.2f s\n",
            elapsed, nodeCPU, run.cpuPerCallMs ?? 0, cpuAfter.manager - cpuBefore.manager,
            total > 0 ? (cpuAfter.manager - cpuBefore.manager) / total * 1000 : 0,
            cpuAfter.gateway - cpuBefore.gateway)
        if let report = try? await CampaignSetup(api: cluster.manager).report(campaign: "bench") {
            text += "  campaign: \(report.attempts) attempts, outcomes \(report.attemptsByOutcome)\n"
        }
        run.summary = text
        return run
    }
}

/// One SIPp process, run under `bash` so that its CPU time is read when it exits (`times`),
/// with its statistics in `<name>.csv` (`-trace_stat`).
struct SIPpRun: Sendable {
    let name: String
    let base: String
    let port: Int
    let process: Process

    static func start(
        _ sipp: String, name: String, scenario: String, directory: String, arguments: [String]
    ) throws -> SIPpRun {
        let port = try DemoCarrier.freePort()
        let mediaPort = try DemoCarrier.freePort()
        let base = directory + "/" + name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        // bash waits for SIPp and prints its children's CPU time; a TERM to bash stops SIPp first.
        let script = """
            "$1" "${@:2}" >"$0.out" 2>"$0.err" & child=$!
            trap 'kill -TERM $child' TERM INT
            wait $child; status=$?
            if [ $status -gt 128 ]; then wait $child; status=$?; fi
            times >"$0.cpu"
            exit $status
            """
        process.arguments =
            ["-c", script, base, sipp, "-sf", scenario, "-i", "127.0.0.1", "-p", "\(port)", "-mp", "\(mediaPort)"]
            + ["-nostdin", "-timeout_error", "-trace_stat", "-stf", base + ".csv", "-fd", "1"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return SIPpRun(name: name, base: base, port: port, process: process)
    }

    /// Waits for SIPp to end; its exit status.
    func wait() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        return process.terminationStatus
    }

    /// Waits up to `limit`, then stops SIPp.
    func wait(orStopAfter limit: Duration) async -> Int32 {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        stop()
        return await wait()
    }

    func stop() {
        // SIGKILL: a child started from a concurrency thread inherits its blocked signals, SIGTERM among them.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func result(status: Int32) -> SIPpResult {
        var result = SIPpResult(name: name, status: status)
        if let text = try? String(contentsOfFile: base + ".cpu", encoding: .utf8) {
            // The second line is the children's: "0m1.234s 0m0.567s" (user, system).
            let lines = text.split(separator: "\n")
            if lines.count >= 2 {
                result.cpuSeconds = lines[1].split(separator: " ").compactMap(Self.seconds).reduce(0, +)
            }
        }
        if let text = try? String(contentsOfFile: base + ".csv", encoding: .utf8) {
            let lines = text.split(separator: "\n")
            if let header = lines.first, lines.count >= 2 {
                let names = header.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
                result.rows = lines.dropFirst().map {
                    Dictionary(
                        zip(names, $0.split(separator: ";", omittingEmptySubsequences: false).map(String.init)),
                        uniquingKeysWith: { first, _ in first })
                }
                result.stats = result.rows.last ?? [:]
            }
        }
        return result
    }

    /// `1m2.500s` in seconds.
    static func seconds(_ text: Substring) -> Double? {
        guard let m = text.firstIndex(of: "m"), text.hasSuffix("s"),
            let minutes = Double(text[..<m]),
            let seconds = Double(text[text.index(after: m)..<text.index(before: text.endIndex)])
        else { return nil }
        return minutes * 60 + seconds
    }
}

/// What one SIPp run reported: its exit status, CPU and final statistics.
struct SIPpResult {
    var name: String
    var status: Int32
    var cpuSeconds: Double?
    var stats: [String: String] = [:]
    /// Every row of the statistics file (one a second, then the final one).
    var rows: [[String: String]] = []

    /// A periodic field (`OutgoingCall(P)`) row by row: what happened each second.
    func perSecond(_ field: String) -> [Double] { rows.dropLast().map { Double($0[field] ?? "") ?? 0 } }

    func count(_ field: String) -> Int { Int(stats[field] ?? "") ?? 0 }

    func cpuPerCallMs(_ calls: Int) -> Double? {
        guard let cpuSeconds, calls > 0 else { return nil }
        return cpuSeconds / Double(calls) * 1000
    }

    static func table(_ results: [SIPpResult]) -> String {
        var text = "  | SIPp | exit | calls | successful | failed | retransmissions | CPU s |\n"
        text += "  |---|---:|---:|---:|---:|---:|---:|\n"
        for result in results {
            text +=
                "  | \(result.name) | \(result.status) | \(result.count("TotalCallCreated")) | "
                + "\(result.count("SuccessfulCall(C)")) | \(result.count("FailedCall(C)")) | "
                + "\(result.count("Retransmissions(C)")) | "
                + (result.cpuSeconds.map { String(format: "%.2f", $0) } ?? "-") + " |\n"
        }
        return text
    }
}
