import ArgumentParser
import DialerLoad
import DialerManager
import Foundation

/// Micro-benchmarks: the frame codec, one loopback connection, the reservation book.
@main
struct DialerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-bench",
        abstract: "Micro-benchmarks of the frame codec, one cluster connection and the reservation book.",
        discussion: "Build in release mode for meaningful figures: swift build -c release --product dialer-bench")

    @Option(
        name: .long,
        help:
            "What to run: all, codec, connection, book, pictures (--agents); amd (--corpus); relay (--frames packets); store (--results); passwords; sip (SIPp on PATH)."
    )
    var only = "all"
    @Option(name: .long, help: "Frames for the codec and the connection.") var frames = 1_000_000
    @Option(name: .long, help: "Frame size in bytes.") var frameBytes = 500
    @Option(name: .long, help: "Grant cycles per book size.") var cycles = 200_000
    @Option(name: .long, help: "Book sizes (agents), comma-separated; ratios are against the first.")
    var agents = "10,2000"
    @Option(name: .long, help: "Also write the rows as JSON to this file.") var json: String?
    @Option(name: .long, help: "For --only amd: a corpus from scripts/amd-corpus.sh.") var corpus: String?
    @Flag(name: .long, help: "For --only amd: also print each recording's verdict.") var verbose = false
    @Option(name: .long, help: "For --only amd: the silence threshold (mean absolute 16-bit sample).")
    var amdSilenceThreshold = 256
    @Option(name: .long, help: "For --only passwords: checks started at once.") var burst = 100
    @Option(name: .long, help: "For --only passwords: PBKDF2 rounds (the store's default: 600000).")
    var rounds = 600_000

    @Option(name: .long, help: "For --only sip: call attempts per second.") var rate = 100
    @Option(name: .long, help: "For --only sip: seconds of dialing in each calls-per-second run.") var seconds = 60
    @Option(name: .long, help: "For --only sip: the message each call plays, in milliseconds.")
    var messageMs = 1_000
    @Option(name: .long, help: "For --only sip: calls of the 200 OK to agent audio run.") var bridgeCalls = 300
    @Option(name: .long, help: "For --only sip: what to run, load, bridge or both (comma-separated).")
    var sipParts = "load,bridge"
    @Option(name: .long, help: "For --only sip: the repository's SIPp scenarios.") var sippScenarios = "sipp"

    @Option(name: .long, help: "For --only store: attempt results applied in each run.") var results = 10_000
    @Option(name: .long, help: "For --only store: nodes asking and reporting at once.") var connections = 8
    @Option(name: .long, help: "For --only store: contacts per hand-out request.") var handOut = 25
    @Option(
        name: .long,
        help: ArgumentHelp(
            "For --only store: also run on PostgreSQL, postgres://user[:password]@host[:port]/dbname (each run adds "
                + "a list and a campaign of its own; nothing is deleted)."))
    var database: String?

    func run() async throws {
        if only == "store" {
            guard (1...1_000_000).contains(results) else { throw ValidationError("--results must be 1 to 1000000") }
            guard (1...1_000).contains(connections) else { throw ValidationError("--connections must be 1 to 1000") }
            guard (1...500).contains(handOut) else { throw ValidationError("--hand-out must be 1 to 500") }
            let postgres = try database.map { url in
                do {
                    return try PostgresStoreConfiguration(url: url, connections: max(4, min(connections, 32)))
                } catch {
                    throw ValidationError("--database: \(error)")
                }
            }
            let (text, rows) = try await StoreBenchmark.report(
                results: results, connections: connections, handOut: handOut, postgres: postgres)
            print(text)
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                try encoder.encode(rows).write(to: URL(fileURLWithPath: json))
            }
            return
        }
        if only == "amd" {
            guard let corpus else { throw ValidationError("--only amd needs --corpus DIR (scripts/amd-corpus.sh DIR)") }
            print(try AMDBenchmark.report(corpus: corpus, silenceThreshold: amdSilenceThreshold, verbose: verbose))
            return
        }
        if only == "passwords" {
            guard (1...10_000).contains(burst) else { throw ValidationError("--burst must be 1 to 10000") }
            guard (1...10_000_000).contains(rounds) else { throw ValidationError("--rounds must be 1 to 10000000") }
            print(try await PasswordBenchmark.run(rounds: rounds, burst: burst))
            return
        }
        if only == "sip" {
            guard (1...1_000).contains(rate) else { throw ValidationError("--rate must be 1 to 1000") }
            guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be 1 to 3600") }
            guard (100...60_000).contains(messageMs) else { throw ValidationError("--message-ms must be 100 to 60000") }
            guard (1...100_000).contains(bridgeCalls) else {
                throw ValidationError("--bridge-calls must be 1 to 100000")
            }
            let parts = Set(sipParts.split(separator: ",").map(String.init))
            guard !parts.isEmpty, parts.isSubset(of: ["load", "bridge"]) else {
                throw ValidationError("--sip-parts must be load, bridge or load,bridge (is \(sipParts))")
            }
            var options = SIPBenchmark.Options()
            options.rate = rate
            options.seconds = seconds
            options.messageMilliseconds = messageMs
            options.bridgeCalls = bridgeCalls
            options.parts = parts
            options.scenarios = sippScenarios
            print(
                try await SIPBenchmark.report(options: options) { line in
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                })
            return
        }
        if only == "relay" {
            guard (1...1_000_000).contains(frames) else { throw ValidationError("--frames must be 1 to 1000000") }
            print(try await RelayBenchmark.report(packets: frames))
            return
        }
        guard ["all", "codec", "connection", "book", "pictures"].contains(only) else {
            throw ValidationError(
                "--only must be all, codec, connection, book, pictures, amd, relay, sip, store or passwords (is \(only))"
            )
        }
        guard frames > 0, cycles > 0 else { throw ValidationError("--frames and --cycles must be above 0") }
        guard (16...65_536).contains(frameBytes) else { throw ValidationError("--frame-bytes must be 16 to 65536") }
        let sizes = agents.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--agents must be positive whole numbers, comma-separated (is \(agents))")
        }
        var all: [MicroBenchmarks.Row] = []
        if only == "all" || only == "codec" {
            let rows = try MicroBenchmarks.codec(count: frames, frameBytes: frameBytes)
            print(MicroBenchmarks.table(rows))
            all += rows
        }
        if only == "all" || only == "connection" {
            let rows = try await MicroBenchmarks.connection(count: frames, frameBytes: frameBytes)
            print(MicroBenchmarks.table(rows))
            all += rows
        }
        if only == "all" || only == "book" {
            let rows = try MicroBenchmarks.reservationBook(agents: sizes, cycles: cycles)
            print(MicroBenchmarks.table(rows))
            all += rows
        }
        if only == "all" || only == "pictures" {
            // A larger floor's picture does not fit the cluster's default frame limit (1 MiB).
            guard sizes.allSatisfy({ $0 <= MicroBenchmarks.largestPictureAgents }) else {
                throw ValidationError(
                    "--agents must be at most \(MicroBenchmarks.largestPictureAgents) for the pictures (is \(agents))")
            }
            // A picture of thousands of agents takes milliseconds: a hundredth of the cycles.
            let rows = try MicroBenchmarks.pictures(agents: sizes, count: max(1, cycles / 100))
            print(MicroBenchmarks.table(rows))
            all += rows
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(all).write(to: URL(fileURLWithPath: json))
        }
    }
}
