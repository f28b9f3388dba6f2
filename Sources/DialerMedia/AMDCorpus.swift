public import DialerCore
import Foundation

/// What a corpus recording really is: the directory it sits in.
public enum AMDTruth: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A person answering (`human/`).
    case human
    /// A voicemail greeting (`machine/`).
    case machine
    /// Dead air, tones, noise (`no-speech/`): neither, but a call the dialer must not give an agent.
    case noSpeech = "no-speech"

    public var description: String { rawValue }
}

/// One recording's verdict.
public struct AMDCorpusResult: Sendable, Hashable {
    public var file: String
    public var truth: AMDTruth
    public var verdict: AMDVerdict
}

/// The confusion table of a corpus: verdicts against the truth.
public struct AMDConfusionTable: Sendable {
    public var results: [AMDCorpusResult]

    public init(results: [AMDCorpusResult]) { self.results = results }

    /// How many recordings of `truth` got `verdict`.
    public func count(_ truth: AMDTruth, _ verdict: AMDVerdictKind) -> Int {
        results.count { $0.truth == truth && $0.verdict.kind == verdict }
    }

    /// How many recordings of `truth` there are.
    public func total(_ truth: AMDTruth) -> Int { results.count { $0.truth == truth } }

    /// The share of humans classed as machines: calls Ofcom counts as abandoned, as the
    /// dialer hangs up on (or plays a message to) a person.
    public var humansClassedAsMachines: Double {
        let humans = total(.human)
        return humans == 0 ? 0 : Double(count(.human, .machine)) / Double(humans)
    }

    /// The table in Markdown, with the shares and each truth's causes.
    public func markdown() -> String {
        func percent(_ part: Int, _ whole: Int) -> String {
            whole == 0 ? "–" : String(format: "%.1f %%", 100 * Double(part) / Double(whole))
        }
        var lines = [
            "| truth \\ verdict | human | machine | not sure | total |",
            "|---|---:|---:|---:|---:|",
        ]
        for truth in AMDTruth.allCases where total(truth) > 0 {
            let cells = AMDVerdictKind.allCases.map { String(count(truth, $0)) }
            lines.append("| \(truth) | \(cells.joined(separator: " | ")) | \(total(truth)) |")
        }
        lines.append("")
        let humans = total(.human)
        let machines = total(.machine)
        lines.append(
            "- Humans classed as machines (abandoned, for Ofcom): \(count(.human, .machine)) of \(humans) "
                + "(\(percent(count(.human, .machine), humans)))")
        lines.append(
            "- Humans not sure (the agent gets the call late, at the total analysis time): "
                + "\(count(.human, .notSure)) of \(humans) (\(percent(count(.human, .notSure), humans)))")
        lines.append(
            "- Machines classed as humans (an agent hears a greeting): \(count(.machine, .human)) of \(machines) "
                + "(\(percent(count(.machine, .human), machines)))")
        for truth in AMDTruth.allCases where total(truth) > 0 {
            var causes: [String: Int] = [:]
            for result in results where result.truth == truth {
                causes["\(result.verdict.kind)/\(result.verdict.cause.name)", default: 0] += 1
            }
            let listed = causes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }
            lines.append("- Causes for \(truth): \(listed.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }
}

/// Why a corpus cannot be evaluated.
public enum AMDCorpusError: Error, CustomStringConvertible {
    case noRecordings(directory: String)
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case .noRecordings(let directory):
            "no .wav files in \(directory)/human, /machine or /no-speech (make them with scripts/amd-corpus.sh)"
        case .unreadable(let file, let reason): "\(file): \(reason)"
        }
    }
}

/// Runs the detector over a corpus directory of `human/`, `machine/` and `no-speech/` WAV files.
public enum AMDCorpus {
    /// Classifies every recording, in file-name order.
    public static func evaluate(directory: String, settings: AMDSettings = AMDSettings()) throws -> AMDConfusionTable {
        try settings.validate()
        var results: [AMDCorpusResult] = []
        let files = FileManager.default
        for truth in AMDTruth.allCases {
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(truth.rawValue)
            guard let names = try? files.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names.sorted() where name.hasSuffix(".wav") {
                let path = folder.appendingPathComponent(name).path
                guard let data = files.contents(atPath: path) else {
                    throw AMDCorpusError.unreadable(file: path, reason: "cannot be read")
                }
                let audio: WAVAudio
                do {
                    audio = try WAVReader.read(Array(data))
                } catch {
                    throw AMDCorpusError.unreadable(file: path, reason: error.description)
                }
                let verdict = try AnsweringMachineDetector.classify(audio.samples, settings: settings)
                results.append(AMDCorpusResult(file: "\(truth.rawValue)/\(name)", truth: truth, verdict: verdict))
            }
        }
        guard !results.isEmpty else { throw AMDCorpusError.noRecordings(directory: directory) }
        return AMDConfusionTable(results: results)
    }
}
