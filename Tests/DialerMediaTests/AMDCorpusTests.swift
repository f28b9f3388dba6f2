import DialerMedia
import Foundation
import Testing

/// espeak-ng and sox, which the generated corpus needs.
enum CorpusTools {
    static let names = ["espeak-ng", "sox"]

    static func isInstalled(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    static var installed: Bool { names.allSatisfy(isInstalled) }

    /// CI (.ci/run) sets DIALER_REQUIRE_TOOLS=1: there a missing tool fails the test instead of skipping it.
    static var required: Bool { ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" }

    /// The repository's root, from this file's path.
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}

@Suite("Answering-machine detection on generated speech (espeak-ng, sox)")
struct AMDCorpusTests {
    @Test(
        .enabled(
            if: CorpusTools.installed || CorpusTools.required,
            "espeak-ng and sox are not installed (apt-get install -y espeak-ng sox); CI requires them"),
        .timeLimit(.minutes(2)))
    func clearCasesGetTheRightVerdict() throws {
        guard CorpusTools.installed else {
            Issue.record("DIALER_REQUIRE_TOOLS=1 but espeak-ng or sox is missing: apt-get install -y espeak-ng sox")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amd-corpus-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = [
            CorpusTools.repository.appendingPathComponent("scripts/amd-corpus.sh").path, directory.path, "--quick",
        ]
        try script.run()
        script.waitUntilExit()
        try #require(script.terminationStatus == 0, "scripts/amd-corpus.sh failed")

        let table = try AMDCorpus.evaluate(directory: directory.path)
        #expect(table.total(.human) == 6)
        #expect(table.total(.machine) == 8)
        #expect(table.total(.noSpeech) == 3)
        // Short answers followed by waiting are people; long greetings are machines.
        for result in table.results where result.truth != .noSpeech {
            #expect(result.verdict.kind.rawValue == result.truth.rawValue, "\(result.file): \(result.verdict)")
        }
        #expect(table.humansClassedAsMachines == 0)
        // Dead air is a machine by the initial silence; a steady tone or loud noise is no person either.
        for result in table.results where result.truth == .noSpeech {
            #expect(result.verdict.kind == .machine, "\(result.file): \(result.verdict)")
        }
        let silence = try #require(table.results.first { $0.file == "no-speech/silence.wav" })
        #expect(silence.verdict.cause == .initialSilence(silenceMilliseconds: 2500))
        #expect(table.markdown().contains("| human | 6 | 0 | 0 | 6 |"))
    }

    @Test func aMissingCorpusIsAClearError() {
        #expect(throws: AMDCorpusError.self) { try AMDCorpus.evaluate(directory: "/nonexistent/corpus") }
    }

    @Test func aBrokenFileIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amd-broken-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let human = directory.appendingPathComponent("human")
        try FileManager.default.createDirectory(at: human, withIntermediateDirectories: true)
        try Data("not a wav".utf8).write(to: human.appendingPathComponent("broken.wav"))
        do {
            _ = try AMDCorpus.evaluate(directory: directory.path)
            Issue.record("a broken file was accepted")
        } catch {
            #expect("\(error)".contains("broken.wav"))
        }
    }

    @Test func theTableCountsSyntheticRecordings() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amd-synthetic-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recordings: [(String, [Int16])] = [
            ("human/hello.wav", Synthetic.silence(400) + Synthetic.word(300) + Synthetic.silence(2000)),
            ("machine/greeting.wav", Synthetic.silence(400) + Synthetic.words([300, 300, 300, 300, 300], gap: 100)),
            ("no-speech/dead-air.wav", Synthetic.silence(3000)),
        ]
        for (name, samples) in recordings {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(WAVWriter.data(samples, encoding: .muLaw)).write(to: url)
        }
        let table = try AMDCorpus.evaluate(directory: directory.path)
        #expect(table.count(.human, .human) == 1)
        #expect(table.count(.machine, .machine) == 1)
        #expect(table.count(.noSpeech, .machine) == 1)
        #expect(table.humansClassedAsMachines == 0)
        let markdown = table.markdown()
        #expect(markdown.contains("| machine | 0 | 1 | 0 | 1 |"))
        #expect(markdown.contains("Humans classed as machines (abandoned, for Ofcom): 0 of 1 (0.0 %)"))
    }
}
