import DialerCore
import DialerMedia
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// SIPp on loopback, as the carrier or the agents' phones, for the cluster's SIP test.
private struct SIPpProcess {
    static let executable: String? = {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/sipp" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether the test runs: sipp is installed, or CI requires it (DIALER_REQUIRE_TOOLS=1) and it fails.
    static let shouldRun: Bool = {
        let required = ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1"
        if executable == nil && !required {
            print("SIP cluster test skipped: sipp is not installed (apt-get install -y sip-tester)")
        }
        return executable != nil || required
    }()

    static func scenario(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sipp").appendingPathComponent(name).path
    }

    static func freePort() throws -> Int {
        let channel = try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }

    let process: Process
    let port: Int

    static func start(_ scenario: String, calls: Int, arguments: [String] = [], directory: URL) throws -> SIPpProcess {
        guard let executable else {
            Issue.record("sipp is required (DIALER_REQUIRE_TOOLS=1) but not installed")
            throw CancellationError()
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.currentDirectoryURL = directory
        process.arguments =
            [
                "-sf", Self.scenario(scenario), "-i", "127.0.0.1", "-p", String(port), "-mp", String(try freePort()),
                "-m", String(calls), "-nostdin", "-timeout", "120s", "-timeout_error",
            ] + arguments
        // SIPp's screen and errors go to files beside the scenario's audio, for a failed run.
        let name = (scenario as NSString).deletingPathExtension
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("\(name).out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("\(name).err").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("\(name).out"))
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("\(name).err"))
        try process.run()
        return SIPpProcess(process: process, port: port)
    }

    func stop() {
        // SIGKILL: a child started from a concurrency thread inherits its blocked signals, SIGTERM among them.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

private struct Report: Decodable {
    var attempts: Int
    var openAttempts: Int
    var contactsByState: [String: Int]
    var attemptsByOutcome: [String: Int]
    var attemptsByDisposition: [String: Int]
}

@Suite("Cluster: a node dials over SIP (SIPp as carrier and phones)", .serialized, .enabled(if: SIPpProcess.shouldRun))
struct SIPClusterTests {
    /// A progressive campaign through a node whose `[[trunk]]` is SIPp on loopback: the carrier
    /// is busy for numbers ending in 0 or 5 and answers the others, playing audio; each agent logs
    /// in with a phone (SIPp in auto-answer, echoing RTP), so every connected call is bridged by
    /// calling that phone. The busy numbers end busy, the others connected with the agent's
    /// disposition, and the node relayed RTP both ways (the customer's audio reached the agent's
    /// port, whose echo came back).
    @Test func aProgressiveCampaignRunsOverSIPWithAgentsPhones() async throws {
        let contacts = 200
        // +4520000000 ... +4520000199: the numbers ending in 0 or 5 are busy.
        let busy = 40
        let answered = contacts - busy
        try await runCampaign(
            contacts: contacts, agents: 10, carrier: "carrier-mix-rtp.xml", settings: #""mode": "progressive""#
        ) { last, metrics in
            #expect(last.attempts == contacts, "one attempt per contact")
            #expect(last.attemptsByOutcome["busy"] == busy, "the carrier's 486s: \(last)")
            #expect(last.attemptsByOutcome["connected"] == answered, "every answered call reached an agent: \(last)")
            #expect(last.attemptsByDisposition["sale"] == answered, "the agents' dispositions were recorded")
            // The node's relay counted the customer's packets to the agent's port, and the
            // phones' echo back: RTP went both ways through the node for the bridged calls.
            let relayed = { (leg: String) -> Double in
                metrics.split(separator: "\n").filter {
                    $0.hasPrefix("dialer_sip_rtp_relayed_packets_total") && $0.contains("from=\"\(leg)\"")
                }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
            }
            #expect(relayed("customer") >= Double(answered * 10), "customer audio reached the agents' ports")
            #expect(relayed("agent") >= Double(answered * 10), "the phones' audio reached the customers")
            #expect(metrics.contains("dialer_sip_first_agent_audio_seconds"))
            // The trunk's metrics: calls by final SIP status, calls placed, channels, and no
            // transaction lost on loopback.
            let value = { (name: String, labels: String) -> Double? in
                metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") && $0.contains(labels) }
                    .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            }
            #expect(value("dialer_sip_calls_total", #"status="486""#) == Double(busy), "calls by final status")
            #expect(value("dialer_sip_calls_total", #"status="200""#) == Double(answered), "calls by final status")
            #expect(value("dialer_sip_calls_placed_total", #"trunk="sipp""#) == Double(contacts))
            #expect(value("dialer_sip_channels_in_use", #"trunk="sipp""#) == 0, "every channel freed")
            #expect(value("dialer_sip_transaction_timeouts_total", #"trunk="sipp""#) == 0)
            #expect(value("dialer_sip_retransmissions_total", #"trunk="sipp""#) != nil)
            #expect(value("dialer_sip_answer_to_agent_audio_seconds_count", #"trunk="sipp""#) == Double(answered))
            // For the record (docs/SIP.md): the customer's 200 OK to the first agent audio.
            print(
                metrics.split(separator: "\n").filter {
                    $0.hasPrefix("dialer_sip_first_agent_audio_seconds")
                        || $0.hasPrefix("dialer_sip_answer_to_agent_audio_seconds")
                }
                .joined(separator: "\n"))
        } done: { now in
            // The last dispositions come after their calls' ends.
            now.attemptsByDisposition["sale"] == answered
        }
    }

    /// A predictive campaign with answering-machine detection (hang up on machines): the
    /// carrier's customers all answer with a long greeting (a steady tone), which the node's
    /// detector classifies from their RTP; every attempt ends `machine` and none reaches an agent.
    @Test func aPredictiveCampaignDetectsMachinesOnTheCustomersAudio() async throws {
        let contacts = 200
        try await runCampaign(
            contacts: contacts, settings: #""mode": "predictive", "answering_machine": {"action": "hangUp"}"#
        ) { last, _ in
            #expect(last.attempts == contacts, "one attempt per contact")
            #expect(last.attemptsByOutcome["machine"] == contacts, "every answer was detected a machine: \(last)")
            #expect(last.attemptsByOutcome["connected"] == nil)
        }
    }

    /// An agentless campaign over SIP: every answered call hears the campaign's message, read
    /// from the trunk's `prompt_directory` and sent as RTP from the call's port, then is hung up.
    @Test func anAgentlessCampaignPlaysItsMessageOverSIP() async throws {
        let contacts = 20
        try await runCampaign(
            contacts: contacts, settings: #""mode": "agentless", "ivr_ports": 5"#, campaignMessage: true
        ) { last, metrics in
            #expect(last.attempts == contacts, "one attempt per contact")
            #expect(last.attemptsByOutcome["connected"] == contacts, "every answer heard the message: \(last)")
            let value = { (name: String) -> Double? in
                metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") && $0.contains(#"message="campaign""#) }
                    .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            }
            #expect(value("dialer_sip_messages_played_total") == Double(contacts), "the message played to its end")
            // 0.4 s of audio: 20 packets of 20 ms per call (a packet too late to matter is
            // skipped rather than sent in a burst, so a loaded machine may send a few less).
            let packets = value("dialer_sip_message_packets_total") ?? 0
            #expect(
                Double(contacts * 15)...Double(contacts * 20) ~= packets,
                "the message's RTP was sent: \(packets) packets")
        }
    }

    /// An abandon over SIP: a power campaign dials three lines for its one agent, everyone
    /// answers; the agent takes one call and talks for 5 s, so the other answers find no agent
    /// within the connect grace: each is abandoned with the no-agent message played to the
    /// customer as RTP before the hang-up.
    @Test func anAbandonedCallHearsTheNoAgentMessageOverSIP() async throws {
        let contacts = 3
        try await runCampaign(
            contacts: contacts, agents: 1, settings: #""mode": "power", "calls_per_ready_agent": 3"#,
            campaignMessage: true, talkSeconds: 5
        ) { last, metrics in
            let abandoned = last.attemptsByOutcome["abandoned"] ?? 0
            #expect(abandoned >= 1, "no call was abandoned: \(last)")
            #expect(abandoned + (last.attemptsByOutcome["connected"] ?? 0) == contacts, "\(last)")
            let played = metrics.split(separator: "\n").first {
                $0.hasPrefix("dialer_sip_messages_played_total{") && $0.contains(#"message="no-agent""#)
            }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            #expect(played == Double(abandoned), "each abandoned customer heard the no-agent message")
        }
    }

    /// Inbound over SIP: callers (SIPp as the carrier's UAC) call the number of an inbound queue at
    /// the node's SIP address; the node answers, the gateway grants an agent, and the node calls
    /// the agent's phone (SIPp in auto-answer) and relays the caller's RTP to it.
    @Test func inboundCallersOverSIPReachTheAgentsPhones() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sip-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tone = (0..<8000).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / 8000)) }
        try Data(WAVWriter.data(tone, encoding: .muLaw)).write(to: directory.appendingPathComponent("customer.wav"))
        let callers = 3
        let agents = 3
        let phones = try SIPpProcess.start(
            "agent-phone.xml", calls: callers, arguments: ["-rtp_echo"], directory: directory)
        defer { phones.stop() }
        let nodePort = try SIPpProcess.freePort()
        var timings = LocalTestCluster.Timings()
        // The proxy is a port nobody reads: nothing is dialed out here.
        timings.extraTOML = """

            [[trunk]]
            id = "sipp"
            proxy = "127.0.0.1:\(try SIPpProcess.freePort())"
            domain = "carrier.test"
            bind_address = "127.0.0.1:\(nodePort)"
            channels = 20
            calls_per_second = 20
            media_port_min = 43000
            media_port_max = 43999
            keep_alive_ms = 0

            """
        let cluster = try LocalTestCluster(
            nodes: ["node-1"], queues: [("support", "inbound")], dids: ["support": ["+4570000001"]],
            timings: timings)
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            let post = cluster.post
            try await post(
                "v1/teams", #"{"id": "service", "name": "Service", "queue_ranking": [{"queue": "support", "rank": 1}]}"#
            )
            for index in 0..<agents {
                try await post(
                    "v1/agents",
                    #"{"id": "s\#(index)", "login": "s\#(index)", "name": "S \#(index)", "team": "service", "password": "password-\#(index)"}"#
                )
            }
            let gateway = ManagerHTTPClient(address: cluster.httpAddress(of: "gateway"))
            @Sendable func connectedCalls() async throws -> Int {
                let (_, body) = try await gateway.send("GET", "v1/reservations/log")
                let entries =
                    (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["entries"] as? [[String: Any]]
                    ?? []
                return entries.filter { $0["event"] as? String == "connected" && $0["queue"] as? String == "support" }
                    .count
            }
            @Sendable func availableAgents() async throws -> Int {
                let (_, body) = try await gateway.send("GET", "v1/live")
                let live =
                    (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["agents"] as? [[String: Any]]
                return live?.filter { $0["state"] as? String == "available" }.count ?? 0
            }
            let address = cluster.gatewayClusterAddress.split(separator: ":")
            let pool = SyntheticAgentPool(
                accounts: (0..<agents).map {
                    .init(login: "s\($0)", password: "password-\($0)", phone: "sip:s\($0)@127.0.0.1:\(phones.port)")
                },
                profile: SyntheticAgentProfile(
                    talkSeconds: .fixed(seconds: 30), wrapUpSeconds: .fixed(seconds: 0.5),
                    dispositions: [.init(name: "done", weight: 1)]),
                seed: 7)
            let (served, _) = try await pool.run(
                host: String(address[0]), port: Int(address[1])!,
                settings: { cluster.connectionSettings(for: $0.login) }, clock: SystemClock()
            ) { _ in
                // The callers ring once every agent is ready: each talks 2 s, then hangs up.
                guard await cluster.waitUntil(timeout: .seconds(60), { try await availableAgents() == agents }) else {
                    return false
                }
                let calling = try SIPpProcess.start(
                    "inbound-caller-rtp.xml", calls: callers,
                    arguments: ["-s", "+4570000001", "-r", "1", "-d", "2000", "127.0.0.1:\(nodePort)"],
                    directory: directory)
                defer { calling.stop() }
                return await cluster.waitUntil(timeout: .seconds(90)) { try await connectedCalls() >= callers }
            }
            let connected = try await connectedCalls()
            try #require(served, "the inbound callers did not all reach an agent: \(connected) connected")
            // The callers' audio reached the agents' phones through the node's relay.
            let relayed = await cluster.waitUntil(timeout: .seconds(30)) {
                let metrics = try await cluster.metrics(of: "node-1")
                let packets = metrics.split(separator: "\n").filter {
                    $0.hasPrefix("dialer_sip_rtp_relayed_packets_total") && $0.contains(#"from="customer""#)
                }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                return packets >= Double(callers * 10)
            }
            #expect(relayed, "the callers' RTP did not reach the agents' phones")
        }
    }

    /// Runs a campaign of `contacts` with `settings` over SIPp until every contact is final (and
    /// `done`), then checks the campaign's report and the node's metrics. With `campaignMessage`,
    /// the trunk's prompt directory holds `campaign.wav` and `no-agent.wav` (0.4 s each).
    private func runCampaign(
        contacts: Int, agents: Int = 3, carrier scenario: String = "carrier-answer-rtp.xml", settings: String,
        campaignMessage: Bool = false, talkSeconds: Double = 1, check: @escaping @Sendable (Report, String) -> Void,
        done: @escaping @Sendable (Report) -> Bool = { _ in true }
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sip-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The customers' audio, looped: a steady tone (a person would not talk without a pause).
        let tone = (0..<8000).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / 8000)) }
        try Data(WAVWriter.data(tone, encoding: .muLaw)).write(to: directory.appendingPathComponent("customer.wav"))
        let prompts = directory.appendingPathComponent("prompts")
        if campaignMessage {
            try FileManager.default.createDirectory(at: prompts, withIntermediateDirectories: true)
            for name in ["campaign", "no-agent"] {
                try Data(WAVWriter.data(Array(tone.prefix(3200)), encoding: .pcm16))
                    .write(to: prompts.appendingPathComponent("\(name).wav"))
            }
        }

        let carrier = try SIPpProcess.start(scenario, calls: contacts, directory: directory)
        defer { carrier.stop() }
        let phones = try SIPpProcess.start(
            "agent-phone.xml", calls: contacts, arguments: ["-rtp_echo"], directory: directory)
        defer { phones.stop() }

        var timings = LocalTestCluster.Timings()
        timings.extraTOML = """

            [[trunk]]
            id = "sipp"
            proxy = "127.0.0.1:\(carrier.port)"
            domain = "carrier.test"
            bind_address = "127.0.0.1:0"
            channels = 20
            calls_per_second = 20
            media_port_min = 42000
            media_port_max = 42999
            keep_alive_ms = 0
            \(campaignMessage ? "prompt_directory = \"\(prompts.path)\"" : "")

            """
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [("sales", "campaign")], timings: timings)
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            let post = cluster.post
            try await post("v1/lists", #"{"id": "leads", "name": "Leads"}"#)
            let rows = (0..<contacts).map { String(format: #"{"phone": "+4520%06d"}"#, $0) }
            try await post(
                "v1/lists/leads/imports?format=json&default_region=DK&wait=true",
                "[" + rows.joined(separator: ",") + "]")
            try await post(
                "v1/teams", #"{"id": "blue", "name": "Blue", "queue_ranking": [{"queue": "sales", "rank": 1}]}"#)
            for index in 0..<agents {
                try await post(
                    "v1/agents",
                    #"{"id": "a\#(index)", "login": "a\#(index)", "name": "Agent \#(index)", "team": "blue", "password": "password-\#(index)"}"#
                )
            }
            try await post(
                "v1/campaigns",
                #"""
                {"id": "spring", "name": "Spring", "list": "leads", "queue": "sales", "settings": {\#(settings),
                 "status": "enabled", "maximum_attempts": 1, "time_zone": "Europe/Copenhagen",
                 "calling_hours": {"start": "00:00", "end": "24:00"}}}
                """#)
            try await post("v1/campaigns/spring/dispositions", #"{"name": "sale", "kind": "final"}"#)
            @Sendable func report() async throws -> Report {
                try await cluster.manager.get("v1/campaigns/spring/report", as: Report.self)
            }

            let address = cluster.gatewayClusterAddress.split(separator: ":")
            let pool = SyntheticAgentPool(
                accounts: (0..<agents).map {
                    .init(login: "a\($0)", password: "password-\($0)", phone: "sip:a\($0)@127.0.0.1:\(phones.port)")
                },
                profile: SyntheticAgentProfile(
                    talkSeconds: .fixed(seconds: talkSeconds), wrapUpSeconds: .fixed(seconds: 0.5),
                    dispositions: [.init(name: "sale", weight: 1)]),
                seed: 5)
            let (finished, summary) = try await pool.run(
                host: String(address[0]), port: Int(address[1])!,
                settings: { cluster.connectionSettings(for: $0.login) }, clock: SystemClock()
            ) { _ in
                await cluster.waitUntil(timeout: .seconds(180)) {
                    let now = try await report()
                    return now.contactsByState["final"] == contacts && now.openAttempts == 0 && done(now)
                }
            }
            let last = try await report()
            try #require(finished, "the campaign did not finish: \(last)")
            #expect(summary.failures.isEmpty, "\(summary.failures)")
            check(last, try await cluster.metrics(of: "node-1"))
        }
    }
}
