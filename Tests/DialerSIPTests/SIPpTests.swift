import DialerCore
import DialerMedia
import DialerSIP
import DialerTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

/// SIPp (`apt-get install sip-tester`) on loopback, playing the carrier or a caller from the
/// scenarios in `sipp/`.
struct SIPp {
    static let executable: String? = {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/sipp" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// CI sets DIALER_REQUIRE_TOOLS=1: a missing sipp is then a failure, not a skip.
    static let required = ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1"

    /// Whether the SIPp tests run: sipp is installed, or CI requires it (and they fail).
    static let shouldRun: Bool = {
        if executable == nil && !required {
            print("SIPp tests skipped: sipp is not installed (apt-get install -y sip-tester)")
        }
        return executable != nil || required
    }()

    static func scenario(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sipp").appendingPathComponent(name).path
    }

    /// A UDP port free a moment ago.
    static func freePort() throws -> Int {
        let channel = try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }

    let process: Process
    let port: Int

    /// Starts sipp with `scenario`; as a UAC, `arguments` name the target.
    static func start(
        _ scenario: String, port: Int? = nil, arguments: [String] = [], tcp: Bool = false, calls: Int = 1,
        directory: URL? = nil
    ) throws -> SIPp {
        guard let executable else {
            Issue.record("sipp is required (DIALER_REQUIRE_TOOLS=1) but not installed")
            throw CancellationError()
        }
        let port = try port ?? freePort()
        let transport = tcp ? ["-t", "t1"] : []
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            [
                "-sf", Self.scenario(scenario), "-i", "127.0.0.1", "-p", String(port), "-mp", String(try freePort()),
                "-m", String(calls), "-nostdin", "-timeout", "30s", "-timeout_error",
            ] + transport + arguments
        // DIALER_SIPP_TRACE=dir keeps each run's messages in dir/<scenario>.log.
        if let directory = ProcessInfo.processInfo.environment["DIALER_SIPP_TRACE"] {
            process.arguments? += ["-trace_msg", "-message_file", "\(directory)/\(scenario).log"]
        }
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return SIPp(process: process, port: port)
    }

    /// Waits until sipp accepts TCP connections (it starts listening a moment after launch).
    func waitUntilListening(within limit: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("sipp did not listen on TCP port \(port)")
    }

    /// Waits for sipp to finish its one call; its exit status (0: the scenario ran through).
    func exitStatus(within limit: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func stop() {
        // SIGKILL: a child started from a concurrency thread inherits its blocked signals, SIGTERM among them.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The events of a call up to its final one, or up to `limit`.
func events(of stream: AsyncStream<CallProgress>, count: Int = .max, within limit: Duration = .seconds(20)) async
    -> [CallProgress]
{
    await withTaskGroup(of: [CallProgress]?.self) { group in
        group.addTask {
            var seen: [CallProgress] = []
            for await event in stream {
                seen.append(event)
                if seen.count >= count { break }
            }
            return seen
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first ?? []
    }
}

/// A short name for each event, to compare sequences.
func kinds(_ events: [CallProgress]) -> [String] {
    events.map {
        switch $0 {
        case .ringing: "ringing"
        case .answered: "answered"
        case .answeredLive: "answeredLive"
        case .answeredByMachine: "answeredByMachine"
        case .busy: "busy"
        case .noAnswer: "noAnswer"
        case .invalidNumber: "invalidNumber"
        case .networkFailure: "networkFailure"
        case .accepted: "accepted"
        case .bridged: "bridged"
        case .messageStarted: "messageStarted"
        case .messageFinished: "messageFinished"
        case .hungUp(.customer, _): "hungUp(customer)"
        case .hungUp(.node, _): "hungUp(node)"
        }
    }
}

func trunkConfiguration(proxyPort: Int, failoverPort: Int? = nil, transport: SIPTransportKind = .udp)
    -> SIPTrunkConfiguration
{
    SIPTrunkConfiguration(
        name: "sipp", proxy: SIPEndpoint(host: "127.0.0.1", port: proxyPort),
        failoverProxy: failoverPort.map { SIPEndpoint(host: "127.0.0.1", port: $0) }, domain: "carrier.test",
        transport: transport, bindHost: "127.0.0.1", bindPort: 0,
        credentials: SIPCredentials(username: "dialer", password: "secret"),
        channels: 4, callsPerSecond: 10, mediaPorts: 40_000...40_099, keepAliveInterval: nil)
}

@Suite("SIPTrunk against SIPp", .serialized, .enabled(if: SIPp.shouldRun))
struct SIPpTests {
    let request = OriginateRequest(
        number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(10), detectsMachines: false)

    /// Runs one outbound call against `scenario`; `hangUpAfter` events the node hangs up.
    func outbound(
        _ scenario: String, ringTimeout: Duration = .seconds(10), hangUpAfter: Int? = nil, failover: String? = nil,
        transport: SIPTransportKind = .udp, whileConnected: (@Sendable (SIPTrunk, CallID) async -> Void)? = nil
    ) async throws -> (events: [String], sippStatus: Int32?, failoverStatus: Int32?, media: NegotiatedMedia?) {
        let carrier = try SIPp.start(scenario, tcp: transport == .tcp)
        if transport == .tcp { try await carrier.waitUntilListening() }
        defer { carrier.stop() }
        let second = try failover.map { try SIPp.start($0) }
        defer { second?.stop() }
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: carrier.port, failoverPort: second?.port, transport: transport)
        )
        var request = self.request
        request.ringTimeout = ringTimeout
        let call = try await trunk.originate(request)
        var seen: [CallProgress] = []
        var media: NegotiatedMedia?
        if let hangUpAfter {
            seen = await events(of: call.progress, count: hangUpAfter)
            media = await trunk.media(of: call.id)
            await whileConnected?(trunk, call.id)
            try await trunk.hangUp(call.id)
        }
        seen += await events(of: call.progress)
        let status = await carrier.exitStatus()
        let failoverStatus = await second?.exitStatus()
        await trunk.shutDown()
        return (kinds(seen), status, failoverStatus, media)
    }

    @Test("answered after ringing, ACKed; the customer hangs up with BYE")
    func answered() async throws {
        let result = try await outbound("carrier-answer.xml")
        #expect(result.events == ["ringing", "answeredLive", "hungUp(customer)"])
        #expect(result.sippStatus == 0)
    }

    @Test("at info level the logs never hold the number or the caller ID; the debug traces do")
    func noPhoneNumberInClearAtInfo() async throws {
        let lines = CapturedLog()
        var logger = Logger(label: "sip-test") { _ in CapturedLog.Handler(lines: lines) }
        logger.logLevel = .debug
        let carrier = try SIPp.start("carrier-answer.xml")
        defer { carrier.stop() }
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: carrier.port), logger: logger)
        let call = try await trunk.originate(request)
        #expect(kinds(await events(of: call.progress)) == ["ringing", "answeredLive", "hungUp(customer)"])
        await trunk.shutDown()
        let digits = [request.number, request.callerID].map { String($0.filter(\.isNumber)) }
        let traces = lines.all.filter { $0.level == .debug }.map(\.text)
        // The check can fail: the debug traces carry the messages, numbers and all.
        #expect(traces.contains { line in digits.allSatisfy { line.contains($0) } }, "no SIP trace at debug")
        let info = lines.all.filter { $0.level >= .info }
        #expect(!info.isEmpty, "the trunk logged nothing at info")
        for line in info {
            for number in digits { #expect(!line.text.contains(number), "\(number) in clear: \(line.text)") }
        }
    }

    @Test("over TCP: answered, ACKed and hung up by the customer on one connection, without retransmissions")
    func answeredOverTCP() async throws {
        let result = try await outbound("carrier-answer.xml", transport: .tcp)
        #expect(result.events == ["ringing", "answeredLive", "hungUp(customer)"])
        #expect(result.sippStatus == 0)
    }

    @Test("busy (486) is busy, and the 486 is ACKed")
    func busy() async throws {
        let result = try await outbound("carrier-busy.xml")
        #expect(result.events == ["busy"])
        #expect(result.sippStatus == 0)
    }

    @Test("no answer within the ring timeout: CANCEL, 487 ACKed, no answer")
    func noAnswer() async throws {
        let result = try await outbound("carrier-no-answer.xml", ringTimeout: .seconds(1))
        #expect(result.events == ["ringing", "noAnswer"])
        #expect(result.sippStatus == 0)
    }

    @Test("503 without a second trunk is a network failure")
    func unavailable() async throws {
        let result = try await outbound("carrier-unavailable.xml")
        #expect(result.events == ["networkFailure"])
        #expect(result.sippStatus == 0)
    }

    @Test("503 with a second trunk fails over to it and the call is answered there")
    func failover() async throws {
        let result = try await outbound("carrier-unavailable.xml", failover: "carrier-answer.xml")
        #expect(result.events == ["ringing", "answeredLive", "hungUp(customer)"])
        #expect(result.sippStatus == 0)
        #expect(result.failoverStatus == 0)
    }

    @Test("a 401 digest challenge is answered with the credentials (SIPp verifies them); the node hangs up")
    func digestChallenge() async throws {
        let result = try await outbound("carrier-auth.xml", hangUpAfter: 2)
        #expect(result.events == ["ringing", "answeredLive", "hungUp(node)"])
        #expect(result.sippStatus == 0)
        #expect(result.media?.codec == .pcmu)
    }

    @Test("a 407 proxy challenge with qop=auth is answered in Proxy-Authorization with nc and cnonce")
    func proxyDigestChallenge() async throws {
        let result = try await outbound("carrier-proxy-auth.xml", hangUpAfter: 2)
        #expect(result.events == ["ringing", "answeredLive", "hungUp(node)"])
        #expect(result.sippStatus == 0)
    }

    @Test("183 with SDP (early media) is ringing; the answer's SDP settles the media; no prompt, no phone: no audio")
    func earlyMedia() async throws {
        let result = try await outbound("carrier-early-media.xml", hangUpAfter: 2) { trunk, id in
            // No prompt directory: the message is over at once. No phone: bridged without audio.
            try? await trunk.play(.noAgent, on: id)
            try? await trunk.bridge(id, to: AgentID("a1"))
        }
        #expect(
            result.events == [
                "ringing", "answeredLive", "messageStarted", "messageFinished", "bridged", "hungUp(node)",
            ])
        #expect(result.sippStatus == 0)
        #expect(result.media?.remoteAddress == "127.0.0.1")
        #expect(result.media?.codec.payloadType == 0)
    }

    @Test("registration: a REGISTER challenged with 401 is answered (SIPp verifies it) and granted 120 s")
    func registration() async throws {
        let registrar = try SIPp.start("carrier-register.xml")
        defer { registrar.stop() }
        var configuration = trunkConfiguration(proxyPort: registrar.port)
        configuration.registrationExpiry = .seconds(300)
        let trunk = try await SIPTrunk.start(configuration: configuration)
        #expect(await waitForCondition(timeout: .seconds(20)) { await trunk.isRegistered })
        #expect(await trunk.registrationExpiresIn.map { $0 <= .seconds(120) && $0 > .seconds(100) } == true)
        #expect(await registrar.exitStatus() == 0)
        await trunk.shutDown()
    }

    @Test("keep-alive: the trunk sends OPTIONS to the proxy every interval")
    func keepAlive() async throws {
        let proxy = try SIPp.start("carrier-options.xml")
        defer { proxy.stop() }
        var configuration = trunkConfiguration(proxyPort: proxy.port)
        configuration.keepAliveInterval = .seconds(1)
        let trunk = try await SIPTrunk.start(configuration: configuration)
        #expect(await proxy.exitStatus() == 0)
        await trunk.shutDown()
    }

    @Test("an inbound caller who gives up while it rings: 200 to the CANCEL, 487 to the INVITE, hung up")
    func inboundCancelled() async throws {
        let trunk = try await SIPTrunk.start(configuration: trunkConfiguration(proxyPort: 5060))
        let trunkPort = trunk.localAddress.port ?? 0
        let caller = try SIPp.start(
            "inbound-caller-cancel.xml", arguments: ["-s", "4544444444", "127.0.0.1:\(trunkPort)"])
        defer { caller.stop() }
        var arrivals = trunk.inboundCalls.makeAsyncIterator()
        guard let call = await arrivals.next() else {
            Issue.record("no inbound call")
            return
        }
        #expect(kinds(await events(of: call.progress)) == ["hungUp(customer)"])
        #expect(await caller.exitStatus() == 0)
        await #expect(throws: TrunkError.unknownCall(call.id)) { try await trunk.accept(call.id) }
        await trunk.shutDown()
    }

    @Test("an inbound call to a received number is offered, accepted with SDP, and hung up by the caller")
    func inbound() async throws {
        let trunk = try await SIPTrunk.start(configuration: trunkConfiguration(proxyPort: 5060))
        await trunk.receiveCalls(to: ["4544444444"])
        let trunkPort = trunk.localAddress.port ?? 0
        let caller = try SIPp.start("inbound-caller.xml", arguments: ["-s", "4544444444", "127.0.0.1:\(trunkPort)"])
        defer { caller.stop() }
        var arrivals = trunk.inboundCalls.makeAsyncIterator()
        guard let call = await arrivals.next() else {
            Issue.record("no inbound call")
            return
        }
        #expect(call.did == "4544444444")
        #expect(call.from == "+4533333333")
        try await trunk.accept(call.id)
        let media = await trunk.media(of: call.id)
        #expect(media?.codec == .pcmu)
        #expect(media?.telephoneEventPayloadType == 101)
        #expect(kinds(await events(of: call.progress)) == ["accepted", "hungUp(customer)"])
        #expect(await caller.exitStatus() == 0)
        await trunk.shutDown()
    }

    // MARK: Media

    /// A directory holding `customer.wav` (the audio SIPp plays as the customer), `no-agent.wav`
    /// (a prompt), removed by the caller.
    static func audioDirectory(customer: [Int16]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipp-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(WAVWriter.data(customer, encoding: .muLaw)).write(to: directory.appendingPathComponent("customer.wav"))
        let prompt = [Int16](repeating: 0, count: 4000)
        try Data(WAVWriter.data(prompt, encoding: .pcm16)).write(to: directory.appendingPathComponent("no-agent.wav"))
        return directory
    }

    /// A tone of `milliseconds` at `amplitude`, then `silence` milliseconds of silence.
    static func tone(_ milliseconds: Int, amplitude: Double = 8000, silence: Int = 0) -> [Int16] {
        (0..<(milliseconds * 8)).map { Int16(amplitude * sin(Double($0) * 2 * .pi * 440 / 8000)) }
            + [Int16](repeating: 0, count: silence * 8)
    }

    /// Runs an outbound call against `carrier-answer-rtp.xml` playing `customer`.
    func callWithAudio(
        customer: [Int16], detectsMachines: Bool, count: Int, more: Int = 0,
        whileConnected: @Sendable (SIPTrunk, CallID, URL) async throws -> Void = { _, _, _ in }
    ) async throws -> (events: [String], sippStatus: Int32?) {
        let directory = try Self.audioDirectory(customer: customer)
        defer { try? FileManager.default.removeItem(at: directory) }
        let carrier = try SIPp.start("carrier-answer-rtp.xml", directory: directory)
        defer { carrier.stop() }
        var configuration = trunkConfiguration(proxyPort: carrier.port)
        configuration.promptDirectory = directory.path
        let trunk = try await SIPTrunk.start(configuration: configuration)
        var request = self.request
        request.detectsMachines = detectsMachines
        let call = try await trunk.originate(request)
        var seen = await events(of: call.progress, count: count)
        try await whileConnected(trunk, call.id, directory)
        if more > 0 { seen += await events(of: call.progress, count: more) }
        try? await trunk.hangUp(call.id)
        seen += await events(of: call.progress)
        let status = await carrier.exitStatus()
        await trunk.shutDown()
        return (kinds(seen), status)
    }

    @Test("bridge: the agent's phone (SIPp, auto-answer, echoing RTP) is called and the audio relayed both ways")
    func bridgeRelaysTheCustomerToTheAgentsPhone() async throws {
        let phone = try SIPp.start("agent-phone.xml", arguments: ["-rtp_echo"])
        defer { phone.stop() }
        let result = try await callWithAudio(customer: Self.tone(1000), detectsMachines: false, count: 2) {
            trunk, id, _ in
            // The phone as the agent's grant carries it to the node.
            try await trunk.bridge(id, to: AgentID("a1"), phone: "sip:agent@127.0.0.1:\(phone.port)")
            // The customer's audio reaches the agent's port when the phone's echo comes back.
            let deadline = ContinuousClock.now + .seconds(15)
            var relay = await trunk.relay(of: id)
            while ContinuousClock.now < deadline,
                (relay?.counters(for: .customer).forwarded ?? 0) < 10
                    || (relay?.counters(for: .agent).forwarded ?? 0) < 10
            {
                try await Task.sleep(for: .milliseconds(50))
                relay = await trunk.relay(of: id)
            }
            #expect((relay?.counters(for: .customer).forwarded ?? 0) >= 10, "customer audio relayed to the agent")
            #expect((relay?.counters(for: .agent).forwarded ?? 0) >= 10, "agent audio relayed to the customer")
            #expect(relay?.firstAgentAudioLatency != nil)
        }
        #expect(result.events == ["ringing", "answeredLive", "bridged", "hungUp(node)"])
        #expect(result.sippStatus == 0)
        #expect(await phone.exitStatus() == 0, "the phone was hung up with the call")
    }

    @Test("detection: a long greeting (3 s of speech-like tone) is a machine")
    func detectsAMachine() async throws {
        let result = try await callWithAudio(customer: Self.tone(3000), detectsMachines: true, count: 3)
        #expect(result.events == ["ringing", "answered", "answeredByMachine", "hungUp(node)"])
        #expect(result.sippStatus == 0)
    }

    @Test("detection: a short hello and silence is a person")
    func detectsAPerson() async throws {
        let result = try await callWithAudio(customer: Self.tone(400, silence: 2600), detectsMachines: true, count: 3)
        #expect(result.events == ["ringing", "answered", "answeredLive", "hungUp(node)"])
        #expect(result.sippStatus == 0)
    }

    @Test("a message is played from the prompt directory as RTP, then reported finished")
    func playsAMessage() async throws {
        let result = try await callWithAudio(
            customer: Self.tone(200, silence: 800), detectsMachines: false, count: 2, more: 2
        ) {
            trunk, id, _ in
            try await trunk.play(.noAgent, on: id)
        }
        // The node hangs up once the prompt (0.5 s) has played out.
        #expect(result.events == ["ringing", "answeredLive", "messageStarted", "messageFinished", "hungUp(node)"])
        #expect(result.sippStatus == 0)
    }
}

/// Log lines kept for a test: level, message and metadata as one text.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(level: Logger.Level, text: String)] = []

    var all: [(level: Logger.Level, text: String)] { lock.withLock { lines } }

    func append(_ level: Logger.Level, _ text: String) { lock.withLock { lines.append((level, text)) } }

    struct Handler: LogHandler {
        let lines: CapturedLog
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let text =
                "\(event.message) "
                + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: " ")
            lines.append(event.level, text)
        }
    }
}
