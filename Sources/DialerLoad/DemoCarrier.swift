import DialerMedia
import Foundation
import NIOCore
import NIOPosix

/// `dialerctl demo --trunk sip`: SIPp on loopback as the carrier (answers every call and plays
/// a tone as the customer) and as the agents' phones (answer at once and echo the audio), with
/// the `[[trunk]]` entry that points a node at them.
public struct DemoCarrier: Sendable {
    /// The `sipp` executable on `PATH`, if installed.
    public static var executable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/sipp" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let carrier: Process
    let phones: Process
    /// The carrier's SIP port (the node's outbound proxy) and the phones'.
    public let carrierPort: Int
    public let phonesPort: Int

    /// Starts both SIPp processes from the scenarios in `scenarios` (the repository's `sipp/`),
    /// writing their audio and screens in `directory`.
    public static func start(scenarios: String, directory: String, calls: Int) throws(DemoError) -> DemoCarrier {
        guard let executable else {
            throw DemoError("--trunk sip needs SIPp: apt-get install -y sip-tester (or put sipp on PATH)")
        }
        // SIPp runs in the run directory: the scenarios' path must not be relative.
        let scenarios = URL(fileURLWithPath: scenarios).standardizedFileURL.path
        for name in ["carrier-answer-rtp.xml", "agent-phone.xml"]
        where !FileManager.default.fileExists(atPath: scenarios + "/" + name) {
            throw DemoError("--sipp-scenarios: \(scenarios)/\(name) is missing (run from the repository's root)")
        }
        let tone = (0..<8000).map { Int16(6000 * sin(Double($0) * 2 * .pi * 440 / 8000)) }
        do {
            try Data(WAVWriter.data(tone + [Int16](repeating: 0, count: 8000), encoding: .muLaw))
                .write(to: URL(fileURLWithPath: directory + "/customer.wav"))
            let ports = try (0..<4).map { _ in try freePort() }
            let carrier = try launch(
                executable, scenario: scenarios + "/carrier-answer-rtp.xml", port: ports[0], mediaPort: ports[1],
                calls: calls, extra: [], directory: directory, name: "sipp-carrier")
            let phones = try launch(
                executable, scenario: scenarios + "/agent-phone.xml", port: ports[2], mediaPort: ports[3],
                calls: calls, extra: ["-rtp_echo"], directory: directory, name: "sipp-phones")
            return DemoCarrier(carrier: carrier, phones: phones, carrierPort: ports[0], phonesPort: ports[2])
        } catch {
            throw DemoError("SIPp cannot start: \(error)")
        }
    }

    /// The `[[trunk]]` entry for a node dialing through the carrier.
    public var trunkTOML: String {
        """

        [[trunk]]
        id = "sipp"
        proxy = "127.0.0.1:\(carrierPort)"
        domain = "carrier.demo"
        bind_address = "127.0.0.1:0"
        channels = 200
        calls_per_second = 50
        keep_alive_ms = 0

        """
    }

    /// Agent `login`'s phone: a user at the phones' SIPp.
    public func phone(of login: String) -> String { "sip:\(login)@127.0.0.1:\(phonesPort)" }

    /// Which SIPp stopped already (a scenario it could not load, a port taken), if one did.
    public func exited() -> String? {
        if !carrier.isRunning { return "the carrier" }
        if !phones.isRunning { return "the phones" }
        return nil
    }

    public func stop() {
        // SIGKILL: a child started from a concurrency thread inherits its blocked signals, SIGTERM among them
        // (SIPp would then outlive the demo).
        for process in [carrier, phones] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private static func launch(
        _ executable: String, scenario: String, port: Int, mediaPort: Int, calls: Int, extra: [String],
        directory: String, name: String
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.arguments =
            [
                "-sf", scenario, "-i", "127.0.0.1", "-p", String(port), "-mp", String(mediaPort), "-m", String(calls),
                "-nostdin",
            ] + extra
        let screen = directory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: screen, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: screen))
        process.standardError = process.standardOutput
        try process.run()
        return process
    }

    /// A UDP port free a moment ago (SIPp binds it next).
    static func freePort() throws -> Int {
        let channel = try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress?.port ?? 0
    }
}
