// Coding helpers shared by the campaign model.
//
// Durations are written as a plain number of seconds (`"ringTimeout": 30`) rather than as
// `Duration`'s own encoding (a pair of integers), because the same JSON is what the HTTP API
// shows and what an operator writes. Agent and member ids are written as bare strings because
// the shared identifier types are not `Codable` themselves.

extension Duration {
    /// The seconds a duration setting may be written with: 0 to a billion (some 31 years).
    ///
    /// A setting's own range is narrower and checked by ``CampaignSettings/validate()``; this
    /// one only keeps every written number convertible, so that no value from outside (an API
    /// body, the store, the wire) can overflow the conversion to a `Duration`.
    public static let settingSecondsRange: ClosedRange<Double> = 0...1_000_000_000

    /// The duration of `seconds` (which may have a fraction), to the millisecond; `nil` when
    /// `seconds` is not a finite number in ``settingSecondsRange``.
    static func fromSeconds(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, settingSecondsRange.contains(seconds) else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A short human form for messages: "15 s", "1.5 s".
    var secondsText: String {
        let value = seconds
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value)) s" }
        return "\(value) s"
    }
}

extension KeyedDecodingContainer {
    /// A duration written in seconds, when present; a number outside
    /// ``Duration/settingSecondsRange`` is a decoding error naming the key.
    func decodeSecondsIfPresent(forKey key: Key) throws -> Duration? {
        guard let seconds = try decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard let duration = Duration.fromSeconds(seconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "must be a number of seconds from 0 to 1000000000 (was \(seconds))")
        }
        return duration
    }

    /// A duration written in seconds; a number outside ``Duration/settingSecondsRange`` is a
    /// decoding error naming the key.
    func decodeSeconds(forKey key: Key) throws -> Duration {
        guard let duration = try decodeSecondsIfPresent(forKey: key) else {
            guard contains(key) else {
                throw DecodingError.keyNotFound(
                    key, DecodingError.Context(codingPath: codingPath, debugDescription: "a number of seconds"))
            }
            throw DecodingError.valueNotFound(
                Double.self,
                DecodingError.Context(codingPath: codingPath + [key], debugDescription: "a number of seconds"))
        }
        return duration
    }

    func decodeAgentIfPresent(forKey key: Key) throws -> AgentID? {
        try decodeIfPresent(String.self, forKey: key).map(AgentID.init)
    }

    func decodeMemberIfPresent(forKey key: Key) throws -> MemberID? {
        try decodeIfPresent(String.self, forKey: key).map(MemberID.init)
    }
}

extension KeyedEncodingContainer {
    mutating func encodeSeconds(_ duration: Duration, forKey key: Key) throws {
        try encode(duration.seconds, forKey: key)
    }

    mutating func encodeSecondsIfPresent(_ duration: Duration?, forKey key: Key) throws {
        try encodeIfPresent(duration?.seconds, forKey: key)
    }

    mutating func encodeAgentIfPresent(_ agent: AgentID?, forKey key: Key) throws {
        try encodeIfPresent(agent?.rawValue, forKey: key)
    }

    mutating func encodeMemberIfPresent(_ member: MemberID?, forKey key: Key) throws {
        try encodeIfPresent(member?.rawValue, forKey: key)
    }
}
