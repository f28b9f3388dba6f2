public import DialerCore

/// What the detector decided.
public enum AMDVerdictKind: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case human
    case machine
    case notSure = "not-sure"

    public var description: String { rawValue }
}

/// Why the detector decided (Asterisk's `AMDCAUSE`).
public enum AMDCause: Sendable, Hashable, CustomStringConvertible {
    /// Silence after a short greeting: a human waiting for an answer (`HUMAN`).
    case afterGreetingSilence(silenceMilliseconds: Int)
    /// No speech within the initial silence (`INITIALSILENCE`).
    case initialSilence(silenceMilliseconds: Int)
    /// The greeting's speech outlasted the greeting limit (`LONGGREETING`).
    case longGreeting(voiceMilliseconds: Int)
    /// More words than the maximum (`MAXWORDS`).
    case maximumWords(words: Int)
    /// One word longer than the maximum: a tone or noise (`MAXWORDLENGTH`).
    case maximumWordLength(wordMilliseconds: Int)
    /// The total analysis time passed undecided (`TOOLONG`).
    case tooLong(totalMilliseconds: Int)
    /// The audio ended (the far end hung up) undecided (`HANGUP`).
    case audioEnded(totalMilliseconds: Int)

    /// Asterisk's word for the cause.
    public var name: String {
        switch self {
        case .afterGreetingSilence: "HUMAN"
        case .initialSilence: "INITIALSILENCE"
        case .longGreeting: "LONGGREETING"
        case .maximumWords: "MAXWORDS"
        case .maximumWordLength: "MAXWORDLENGTH"
        case .tooLong: "TOOLONG"
        case .audioEnded: "HANGUP"
        }
    }

    public var description: String {
        switch self {
        case .afterGreetingSilence(let ms): "HUMAN-\(ms)"
        case .initialSilence(let ms): "INITIALSILENCE-\(ms)"
        case .longGreeting(let ms): "LONGGREETING-\(ms)"
        case .maximumWords(let words): "MAXWORDS-\(words)"
        case .maximumWordLength(let ms): "MAXWORDLENGTH-\(ms)"
        case .tooLong(let ms): "TOOLONG-\(ms)"
        case .audioEnded(let ms): "HANGUP-\(ms)"
        }
    }
}

/// A verdict, its cause, and how much audio it took.
public struct AMDVerdict: Sendable, Hashable, CustomStringConvertible {
    public var kind: AMDVerdictKind
    public var cause: AMDCause
    /// Milliseconds of audio analysed when the verdict fell.
    public var afterMilliseconds: Int
    /// Words counted by then.
    public var words: Int

    public var description: String { "\(kind) (\(cause), \(words) words, after \(afterMilliseconds) ms)" }
}

/// Answering-machine detection over the customer's first seconds of audio, in the style of
/// Asterisk's `app_amd`: a value that takes frames of decoded audio and returns a verdict once.
///
/// Each frame is voice or silence by its mean absolute sample against ``AMDSettings/silenceThreshold``.
/// - Silence: a run of at least the between-words silence ends a word. Before any speech, a run
///   of the initial silence is a machine; after speech (in the greeting), a run of the
///   after-greeting silence is a human.
/// - Voice: a run of at least the minimum word length after silence is a new word. More words
///   than the maximum, a word longer than the maximum word length, or greeting speech totalling
///   more than the greeting length is a machine.
/// - Nothing decided within the total analysis time: not sure.
///
/// Times are counted in samples (8 per millisecond), so packets of 10 to 60 ms all work; where a
/// sound starts inside a frame, the verdict can move by up to a frame.
public struct AnsweringMachineDetector: Sendable {
    public let settings: AMDSettings

    private enum Sound { case silence, word }

    private var elapsed = 0  // samples
    private var silenceRun = 0
    private var voiceRun = 0
    private var voiceTotal = 0
    private var words = 0
    private var sound: Sound = .silence
    private var inGreeting = false
    /// The verdict, once given; later frames change nothing.
    public private(set) var verdict: AMDVerdict?

    /// A detector with validated `settings`.
    public init(settings: AMDSettings = AMDSettings()) throws(AMDSettingsError) {
        try settings.validate()
        self.settings = settings
    }

    private func samples(_ milliseconds: Int) -> Int { milliseconds * 8 }

    /// Milliseconds of audio analysed.
    public var analysedMilliseconds: Int { elapsed / 8 }

    /// Analyses one frame of G.711 payload.
    public mutating func process(payload: some Collection<UInt8>, codec: G711Codec) -> AMDVerdict? {
        guard verdict == nil else { return verdict }
        var total = 0
        for code in payload { total += abs(Int(codec.decode(code))) }
        return process(energy: payload.isEmpty ? 0 : total / payload.count, sampleCount: payload.count)
    }

    /// Analyses one frame of linear samples (20 ms is 160 samples).
    public mutating func process(samples frame: some Collection<Int16>) -> AMDVerdict? {
        guard verdict == nil else { return verdict }
        var total = 0
        for sample in frame { total += abs(Int(sample)) }
        return process(energy: frame.isEmpty ? 0 : total / frame.count, sampleCount: frame.count)
    }

    /// Analyses a frame given its mean absolute sample and length.
    public mutating func process(energy: Int, sampleCount: Int) -> AMDVerdict? {
        guard verdict == nil else { return verdict }
        guard sampleCount > 0 else { return nil }
        elapsed += sampleCount
        if energy < settings.silenceThreshold {
            silenceRun += sampleCount
            if silenceRun >= samples(settings.betweenWordsSilenceMilliseconds) {
                sound = .silence
                voiceRun = 0
            }
            if !inGreeting && silenceRun >= samples(settings.initialSilenceMilliseconds) {
                return decide(.machine, .initialSilence(silenceMilliseconds: silenceRun / 8))
            }
            if inGreeting && silenceRun >= samples(settings.afterGreetingSilenceMilliseconds) {
                return decide(.human, .afterGreetingSilence(silenceMilliseconds: silenceRun / 8))
            }
        } else {
            silenceRun = 0
            voiceRun += sampleCount
            voiceTotal += sampleCount
            if sound == .silence && voiceRun >= samples(settings.minimumWordMilliseconds) {
                words += 1
                sound = .word
            }
            if voiceRun >= samples(settings.maximumWordMilliseconds) {
                return decide(.machine, .maximumWordLength(wordMilliseconds: voiceRun / 8))
            }
            if words > settings.maximumWords {
                return decide(.machine, .maximumWords(words: words))
            }
            if inGreeting && voiceTotal >= samples(settings.greetingMilliseconds) {
                return decide(.machine, .longGreeting(voiceMilliseconds: voiceTotal / 8))
            }
            // Speech of a word's length starts the greeting; a click before it does not.
            if voiceTotal >= samples(settings.minimumWordMilliseconds) { inGreeting = true }
        }
        if elapsed >= samples(settings.totalAnalysisMilliseconds) {
            return decide(.notSure, .tooLong(totalMilliseconds: elapsed / 8))
        }
        return nil
    }

    /// The audio ended (the far end hung up, or a test's file ran out) before a verdict.
    public mutating func end() -> AMDVerdict {
        if let verdict { return verdict }
        return decide(.notSure, .audioEnded(totalMilliseconds: elapsed / 8))
    }

    /// Runs a whole recording through a fresh detector in 20 ms frames.
    public static func classify(_ samples: [Int16], settings: AMDSettings = AMDSettings()) throws(AMDSettingsError)
        -> AMDVerdict
    {
        var detector = try AnsweringMachineDetector(settings: settings)
        var start = 0
        while start < samples.count {
            let end = min(samples.count, start + 160)
            if let verdict = detector.process(samples: samples[start..<end]) { return verdict }
            start = end
        }
        return detector.end()
    }

    private mutating func decide(_ kind: AMDVerdictKind, _ cause: AMDCause) -> AMDVerdict {
        let verdict = AMDVerdict(kind: kind, cause: cause, afterMilliseconds: elapsed / 8, words: words)
        self.verdict = verdict
        return verdict
    }
}
