/// The thresholds of answering-machine detection, in the terms of Asterisk's `AMD()`: a
/// campaign setting (``CampaignSettings/answeringMachineDetection``) that the detector of
/// `DialerMedia` runs with.
///
/// Durations are held in milliseconds of audio and written in seconds in the campaign's JSON,
/// like every duration setting. The defaults are Asterisk's, except at most 3 words (Asterisk's
/// current default is 2).
public struct AMDSettings: Sendable, Hashable, Codable {
    /// Silence before any speech that makes the call a machine (dead air, or a machine that
    /// waits before its greeting).
    public var initialSilenceMilliseconds = 2500
    /// Speech in the greeting beyond which it is a machine's.
    public var greetingMilliseconds = 1500
    /// Silence after the greeting that makes the call a human's (who said "Hello?" and waits).
    public var afterGreetingSilenceMilliseconds = 800
    /// Audio analysed at most; still undecided then, the verdict is "not sure".
    public var totalAnalysisMilliseconds = 5000
    /// Voice shorter than this is not a word (a click, a breath).
    public var minimumWordMilliseconds = 100
    /// Silence that ends a word.
    public var betweenWordsSilenceMilliseconds = 50
    /// More words than this is a machine.
    public var maximumWords = 3
    /// One word longer than this is a machine (a tone, steady noise).
    public var maximumWordMilliseconds = 5000
    /// A frame whose mean absolute sample (16-bit linear) is below this is silence.
    public var silenceThreshold = 256

    /// Asterisk's defaults, with at most 3 words.
    public init() {}

    /// One setting's name in the campaign's JSON, its allowed range, and whether it is a
    /// duration (milliseconds here, seconds in JSON).
    public struct Field: Sendable {
        public var name: String
        public var range: ClosedRange<Int>
        public var isDuration: Bool
        public var keyPath: any WritableKeyPath<AMDSettings, Int> & Sendable
    }

    /// Every setting with its range.
    public static let fields: [Field] = [
        Field(name: "initialSilence", range: 100...10_000, isDuration: true, keyPath: \.initialSilenceMilliseconds),
        Field(name: "greeting", range: 100...10_000, isDuration: true, keyPath: \.greetingMilliseconds),
        Field(
            name: "afterGreetingSilence", range: 100...5_000, isDuration: true,
            keyPath: \.afterGreetingSilenceMilliseconds),
        Field(name: "totalAnalysis", range: 500...30_000, isDuration: true, keyPath: \.totalAnalysisMilliseconds),
        Field(name: "minimumWord", range: 20...2_000, isDuration: true, keyPath: \.minimumWordMilliseconds),
        Field(
            name: "betweenWordsSilence", range: 20...2_000, isDuration: true,
            keyPath: \.betweenWordsSilenceMilliseconds),
        Field(name: "maximumWords", range: 1...20, isDuration: false, keyPath: \.maximumWords),
        Field(name: "maximumWordLength", range: 100...30_000, isDuration: true, keyPath: \.maximumWordMilliseconds),
        Field(name: "silenceThreshold", range: 1...32_767, isDuration: false, keyPath: \.silenceThreshold),
    ]

    /// Every field out of its range, in field order; empty when the settings are valid.
    public var errors: [AMDSettingsError] {
        Self.fields.compactMap { field in
            let value = self[keyPath: field.keyPath]
            return field.range.contains(value)
                ? nil
                : AMDSettingsError(field: field.name, value: value, range: field.range, isDuration: field.isDuration)
        }
    }

    /// Checks every field against its range; throws the first error.
    public func validate() throws(AMDSettingsError) {
        if let error = errors.first { throw error }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the settings (durations in seconds); a missing key takes its default. A number
    /// of seconds that is not finite or outside ``Duration/settingSecondsRange`` is a decoding
    /// error naming the key; ranges are checked by ``validate()``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for field in Self.fields {
            let key = Key(stringValue: field.name)
            if field.isDuration {
                guard let duration = try container.decodeSecondsIfPresent(forKey: key) else { continue }
                // settingSecondsRange keeps the milliseconds within Int64.
                self[keyPath: field.keyPath] = Int(duration.totalNanoseconds / 1_000_000)
            } else if let value = try container.decodeIfPresent(Int.self, forKey: key) {
                self[keyPath: field.keyPath] = value
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for field in Self.fields {
            let key = Key(stringValue: field.name)
            let value = self[keyPath: field.keyPath]
            if field.isDuration {
                try container.encodeSeconds(.milliseconds(value), forKey: key)
            } else {
                try container.encode(value, forKey: key)
            }
        }
    }
}

/// A threshold outside its range; names the field.
public struct AMDSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field's name in the campaign's JSON (`initialSilence`).
    public var field: String
    /// The value (milliseconds for a duration).
    public var value: Int
    /// The allowed range (milliseconds for a duration).
    public var range: ClosedRange<Int>
    /// Whether the field is a duration, written in seconds.
    public var isDuration: Bool

    public init(field: String, value: Int, range: ClosedRange<Int>, isDuration: Bool) {
        self.field = field
        self.value = value
        self.range = range
        self.isDuration = isDuration
    }

    /// What is wrong, without the field's name: "must be 0.1 to 10 s (was 20 s)".
    public var message: String {
        func show(_ value: Int) -> String {
            guard isDuration else { return String(value) }
            let seconds = Double(value) / 1000
            return seconds == seconds.rounded() ? "\(Int64(seconds)) s" : "\(seconds) s"
        }
        return "must be \(show(range.lowerBound)) to \(show(range.upperBound)) (was \(show(value)))"
    }

    public var description: String { "answering-machine detection: \(field) \(message)" }
}
