// Coding helpers shared by the campaign model.
//
// Durations are written as a plain number of seconds (`"ringTimeout": 30`) rather than as
// `Duration`'s own encoding (a pair of integers), because the same JSON is what the HTTP API
// shows and what an operator writes. Agent and member ids are written as bare strings because
// the shared identifier types are not `Codable` themselves.

extension Duration {
    /// The duration of `seconds` (which may have a fraction), to the millisecond.
    static func fromSeconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A short human form for messages: "15 s", "1.5 s".
    var secondsText: String {
        let value = seconds
        if value == value.rounded() { return "\(Int64(value)) s" }
        return "\(value) s"
    }
}

extension KeyedDecodingContainer {
    func decodeSecondsIfPresent(forKey key: Key) throws -> Duration? {
        try decodeIfPresent(Double.self, forKey: key).map(Duration.fromSeconds)
    }

    func decodeSeconds(forKey key: Key) throws -> Duration {
        Duration.fromSeconds(try decode(Double.self, forKey: key))
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
