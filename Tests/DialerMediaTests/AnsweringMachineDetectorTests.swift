import DialerCore
import DialerMedia
import Foundation
import Testing

/// Synthetic audio at 8 kHz: silence, and 400 Hz tone bursts standing for words.
enum Synthetic {
    static func silence(_ milliseconds: Int) -> [Int16] { Array(repeating: 0, count: milliseconds * 8) }

    static func word(_ milliseconds: Int, amplitude: Double = 8000) -> [Int16] {
        (0..<milliseconds * 8).map { Int16(amplitude * sin(2 * Double.pi * 400 * Double($0) / 8000)) }
    }

    /// Words of the given lengths, each followed by the given silence.
    static func words(_ lengths: [Int], gap: Int) -> [Int16] { lengths.flatMap { word($0) + silence(gap) } }
}

@Suite("Answering-machine detection on synthetic audio")
struct AnsweringMachineDetectorTests {
    private func verdict(_ samples: [Int16], settings: AMDSettings = AMDSettings()) throws -> AMDVerdict {
        try AnsweringMachineDetector.classify(samples, settings: settings)
    }

    @Test func deadAirIsAMachineAtTheInitialSilence() throws {
        let result = try verdict(Synthetic.silence(4000))
        #expect(result.kind == .machine)
        #expect(result.cause == .initialSilence(silenceMilliseconds: 2500))
        #expect(result.afterMilliseconds == 2500)
    }

    @Test func aShortHelloThenWaitingIsAHuman() throws {
        let result = try verdict(Synthetic.silence(500) + Synthetic.word(300) + Synthetic.silence(2000))
        #expect(result.kind == .human)
        #expect(result.cause == .afterGreetingSilence(silenceMilliseconds: 800))
        #expect(result.afterMilliseconds == 1600)
        #expect(result.words == 1)
    }

    @Test func twoShortWordsAreAHuman() throws {
        let result = try verdict(
            Synthetic.silence(300) + Synthetic.words([200, 400], gap: 150) + Synthetic.silence(1000))
        #expect(result.kind == .human)
        #expect(result.words == 2)
    }

    @Test func aLongGreetingIsAMachine() throws {
        let result = try verdict(Synthetic.silence(200) + Synthetic.word(3000))
        #expect(result.kind == .machine)
        #expect(result.cause == .longGreeting(voiceMilliseconds: 1500))
        #expect(result.afterMilliseconds == 1700)
    }

    @Test func moreWordsThanTheMaximumIsAMachine() throws {
        let result = try verdict(Synthetic.words([150, 150, 150, 150, 150], gap: 100))
        #expect(result.kind == .machine)
        #expect(result.cause == .maximumWords(words: 4))
        // The fourth word starts at 750 ms, inside a 20 ms frame: counted within a frame of 850 ms.
        #expect((830...860).contains(result.afterMilliseconds))
    }

    @Test func gapsShorterThanTheBetweenWordsSilenceDoNotSplitAWord() throws {
        let result = try verdict(Synthetic.words([200, 200, 200, 200, 200, 200], gap: 30) + Synthetic.silence(1000))
        #expect(result.kind == .human)
        #expect(result.words == 1)
    }

    @Test func aClickDoesNotStartTheGreeting() throws {
        let result = try verdict(Synthetic.word(40) + Synthetic.silence(3000))
        #expect(result.kind == .machine)
        #expect(result.cause == .initialSilence(silenceMilliseconds: 2500))
    }

    @Test func aSteadyToneIsAMachineByWordLength() throws {
        var settings = AMDSettings()
        settings.greetingMilliseconds = 10_000
        settings.maximumWordMilliseconds = 2000
        let result = try verdict(Synthetic.word(6000), settings: settings)
        #expect(result.kind == .machine)
        #expect(result.cause == .maximumWordLength(wordMilliseconds: 2000))
    }

    @Test func undecidedAfterTheTotalAnalysisIsNotSure() throws {
        var settings = AMDSettings()
        settings.maximumWords = 20
        let result = try verdict(
            Array(repeating: Synthetic.word(200) + Synthetic.silence(700), count: 8).flatMap { $0 }, settings: settings)
        #expect(result.kind == .notSure)
        #expect(result.cause == .tooLong(totalMilliseconds: 5000))
    }

    @Test func audioThatEndsUndecidedIsNotSure() throws {
        let result = try verdict(Synthetic.silence(300) + Synthetic.word(300))
        #expect(result.kind == .notSure)
        #expect(result.cause == .audioEnded(totalMilliseconds: 600))
        #expect(result.cause.name == "HANGUP")
    }

    @Test func quietNoiseBelowTheThresholdIsSilence() throws {
        var generator = SystemRandomNumberGenerator()
        let hiss = (0..<8000 * 3).map { _ in Int16.random(in: -300...300, using: &generator) }  // mean |x| ≈ 150
        #expect(try verdict(hiss).cause == .initialSilence(silenceMilliseconds: 2500))
    }

    @Test func theVerdictDoesNotDependOnFrameLengthOrCodec() throws {
        // Sounds that start and end on frame boundaries, so 10 ms and 20 ms frames see the same.
        let audio = Synthetic.silence(500) + Synthetic.words([300, 240], gap: 120) + Synthetic.silence(1500)
        let byFrames = try verdict(audio)
        var detector = try AnsweringMachineDetector()
        var small: AMDVerdict?
        for start in stride(from: 0, to: audio.count, by: 80) where small == nil {
            small = detector.process(samples: audio[start..<min(audio.count, start + 80)])
        }
        #expect(small == byFrames)
        for codec in G711Codec.allCases {
            var g711 = try AnsweringMachineDetector()
            let payload = codec.encode(audio)
            var result: AMDVerdict?
            for start in stride(from: 0, to: payload.count, by: 160) where result == nil {
                result = g711.process(payload: payload[start..<min(payload.count, start + 160)], codec: codec)
            }
            #expect(result?.kind == byFrames.kind)
            #expect(result?.afterMilliseconds == byFrames.afterMilliseconds)
        }
    }

    @Test func theVerdictIsGivenOnce() throws {
        var detector = try AnsweringMachineDetector()
        var first: AMDVerdict?
        for _ in 0..<200 where first == nil { first = detector.process(samples: Synthetic.silence(20)) }
        let later = detector.process(samples: Synthetic.word(20))
        #expect(later == first)
        #expect(detector.end() == first)
        #expect(detector.verdict == first)
    }

    @Test func defaultsAreAsterisksWithThreeWords() throws {
        let settings = AMDSettings()
        #expect(settings.initialSilenceMilliseconds == 2500)
        #expect(settings.greetingMilliseconds == 1500)
        #expect(settings.afterGreetingSilenceMilliseconds == 800)
        #expect(settings.totalAnalysisMilliseconds == 5000)
        #expect(settings.minimumWordMilliseconds == 100)
        #expect(settings.betweenWordsSilenceMilliseconds == 50)
        #expect(settings.maximumWords == 3)
        #expect(settings.silenceThreshold == 256)
        try settings.validate()
    }

    @Test func settingsOutOfRangeAreRefusedNamingTheField() {
        for field in AMDSettings.fields {
            for bad in [field.range.lowerBound - 1, field.range.upperBound + 1, Int.min, Int.max] {
                var settings = AMDSettings()
                settings[keyPath: field.keyPath] = bad
                let expected = AMDSettingsError(
                    field: field.name, value: bad, range: field.range, isDuration: field.isDuration)
                #expect(throws: expected) { try settings.validate() }
                #expect(throws: AMDSettingsError.self) { try AnsweringMachineDetector(settings: settings) }
            }
        }
        let error = AMDSettingsError(field: "greeting", value: 20, range: 100...10_000, isDuration: true)
        #expect(error.description.contains("greeting"))
        #expect(error.message == "must be 0.1 s to 10 s (was 0.02 s)")
    }
}
