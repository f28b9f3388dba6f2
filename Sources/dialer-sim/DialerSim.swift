import ArgumentParser
import DialerSimulation
import Foundation
import Synchronization

/// `dialer-sim`: compares pacing policies on a scenario in virtual time.
@main
struct DialerSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-sim",
        abstract: "Simulate a campaign in virtual time and compare pacing policies on the same customers.",
        discussion: """
            Runs the product's own pacing policies and reservation book over a scenario file \
            (see scenarios/) and prints, per policy: occupancy, talk minutes per agent-hour, \
            abandon rate over the shift and its worst rolling 24 h and 1 h windows, wait between \
            calls and contacts per hour. Same scenario and seed, same figures.
            """
    )

    @Option(help: "The scenario file (JSON).")
    var scenario: String

    @Option(help: "Comma-separated policy names from the scenario (or the standard set), or 'all'.")
    var policies = "all"

    @Option(help: "The seed, instead of the scenario's.")
    var seed: UInt64?

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Option(help: "Policies simulated at once (default: the processor count).")
    var parallel: Int?

    @Flag(help: "Do not print progress to standard error.")
    var quiet = false

    func run() async throws {
        let scenario: Scenario
        do {
            scenario = try Scenario.load(path: self.scenario)
        } catch {
            // path: field: reason, on one line, as compilers report errors.
            Self.fail("bad scenario: \(error)")
        }
        let selected = select(from: scenario.effectivePolicies)
        let simulator = Simulator(scenario: scenario)
        let started = ContinuousClock.now
        let progress = ProgressPrinter(enabled: !quiet)
        let report = await simulator.compare(selected, seed: seed, parallelism: parallel) { policy, done in
            progress.update(policy: policy, done: done)
        }
        let elapsed = ContinuousClock.now - started

        print(
            "scenario \(report.scenario): \(report.agents) agents, \(report.shiftHours) h × \(report.days) day(s), "
                + "target abandon \(report.targetAbandonRate * 100) %, seed \(report.seed)")
        print(report.table())
        if !quiet {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            Self.standardError("simulated in " + String(format: "%.1f", seconds) + " s (wall clock)")
        }
        if let json {
            do {
                try Data((report.json() + "\n").utf8).write(to: URL(fileURLWithPath: json))
            } catch {
                Self.fail("cannot write \(json): \(error.localizedDescription)")
            }
        }
    }

    private func select(from available: [PolicySpec]) -> [PolicySpec] {
        let names = policies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if names == ["all"] { return available }
        return names.map { name in
            guard let policy = available.first(where: { $0.name == name }) else {
                Self.fail(
                    "unknown policy '\(name)'; this scenario has: \(available.map(\.name).joined(separator: ", "))")
            }
            return policy
        }
    }

    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Says what is wrong and exits with status 2, without the usage text: the arguments were
    /// well-formed, what they named was not.
    static func fail(_ message: String) -> Never {
        standardError("dialer-sim: " + message)
        Self.exit(withError: ExitCode(2))
    }
}

/// Prints each policy's progress to standard error in steps of a tenth, so a long run shows
/// it is alive without flooding the terminal.
final class ProgressPrinter: Sendable {
    private let enabled: Bool
    private let reported = Mutex<[String: Int]>([:])

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(policy: String, done: Double) {
        guard enabled else { return }
        let tenth = Int((done * 10).rounded(.down))
        let isNew = reported.withLock { reported in
            guard tenth > reported[policy, default: -1] else { return false }
            reported[policy] = tenth
            return true
        }
        if isNew { DialerSim.standardError("  \(policy): \(tenth * 10) %") }
    }
}
