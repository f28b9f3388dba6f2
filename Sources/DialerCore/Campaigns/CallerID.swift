/// A number of the campaign's caller-ID pool.
public struct PooledCallerID: Hashable, Sendable, Codable {
    /// The number presented, E.164.
    public var number: String
    /// Prefixes of dialed numbers (E.164, e.g. `"+1212"`) for which this number is local:
    /// local presence presents a number from the called party's own area, which more people
    /// answer. Empty: used only by rotation.
    public var localPrefixes: [String]

    /// A pooled number, local to `localPrefixes`.
    public init(number: String, localPrefixes: [String] = []) {
        self.number = number
        self.localPrefixes = localPrefixes
    }

    private enum CodingKeys: String, CodingKey { case number, localPrefixes }

    /// Decodes an entry; without `localPrefixes` the number is not local anywhere.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        number = try container.decode(String.self, forKey: .number)
        localPrefixes = try container.decodeIfPresent([String].self, forKey: .localPrefixes) ?? []
    }
}

/// A pre-dial rule: just before a call is placed, a call that matches presents the rule's number,
/// over every other choice (the contact's own number included).
///
/// It stands for the products' pre-dial hook, as data the node evaluates itself: no round trip
/// to an outside system delays the dial. A rule matches when the called number starts with one of
/// ``numberPrefixes`` (or there are none) and the contact's ``field`` holds one of ``fieldValues``
/// (or no field is named); it names at least one of the two. The first matching rule wins.
public struct PreDialCallerIDRule: Hashable, Sendable, Codable {
    /// The number presented, E.164.
    public var present: String
    /// Prefixes of the called number (E.164, e.g. `"+1212"`); empty: any number.
    public var numberPrefixes: [String]
    /// A contact field (a list column shown to the agent) the rule looks at; `nil`: none.
    public var field: String?
    /// The values of ``field`` that match.
    public var fieldValues: [String]

    /// A rule presenting `present` on calls to `numberPrefixes` whose `field` is one of
    /// `fieldValues`.
    public init(present: String, numberPrefixes: [String] = [], field: String? = nil, fieldValues: [String] = []) {
        self.present = present
        self.numberPrefixes = numberPrefixes
        self.field = field
        self.fieldValues = fieldValues
    }

    /// Decodes the rule; missing lists are empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        present = try container.decode(String.self, forKey: .present)
        numberPrefixes = try container.decodeIfPresent([String].self, forKey: .numberPrefixes) ?? []
        field = try container.decodeIfPresent(String.self, forKey: .field)
        fieldValues = try container.decodeIfPresent([String].self, forKey: .fieldValues) ?? []
    }

    private enum CodingKeys: String, CodingKey { case present, numberPrefixes, field, fieldValues }

    /// Whether a call to `phoneNumber`, for a contact with `fields`, matches.
    public func matches(calling phoneNumber: String, fields: [String: String]) -> Bool {
        if !numberPrefixes.isEmpty, !numberPrefixes.contains(where: { phoneNumber.hasPrefix($0) }) { return false }
        if let field {
            guard let value = fields[field], fieldValues.contains(value) else { return false }
        }
        return true
    }
}

/// How the pool's numbers take turns for contacts without a local number.
public enum CallerIDRotation: String, Hashable, Sendable, Codable, CaseIterable {
    /// In pool order, one after the other (the caller keeps the cursor).
    case roundRobin
    /// The number used least today first, so the numbers wear evenly.
    case leastUsed
}

/// The numbers a campaign presents to the people it calls.
///
/// The number for one call, highest precedence first: the first matching pre-dial rule's
/// (``preDialRules``), the contact's own ``Contact/callerID``, a pooled number local to the contact, a pooled number
/// by rotation, the campaign's ``defaultNumber``. Pooled numbers that reached
/// ``dailyCapPerNumber`` today are skipped, because carriers flag numbers that call too often.
public struct CallerIDSettings: Hashable, Sendable, Codable {
    /// The campaign's own number, E.164; the last resort.
    public var defaultNumber: String?
    /// Numbers to rotate through, with their local-presence prefixes.
    public var pool: [PooledCallerID]
    /// How the pool rotates.
    public var rotation: CallerIDRotation
    /// The most calls per day presenting one pooled number; `nil` for no cap.
    public var dailyCapPerNumber: Int?
    /// Rules checked just before each call, first match wins; a match overrides everything
    /// else (and is not counted against the pool's daily cap).
    public var preDialRules: [PreDialCallerIDRule]

    /// Caller-ID settings; the defaults present nothing (the trunk's own number).
    public init(
        defaultNumber: String? = nil,
        pool: [PooledCallerID] = [],
        rotation: CallerIDRotation = .roundRobin,
        dailyCapPerNumber: Int? = nil,
        preDialRules: [PreDialCallerIDRule] = []
    ) {
        self.defaultNumber = defaultNumber
        self.pool = pool
        self.rotation = rotation
        self.dailyCapPerNumber = dailyCapPerNumber
        self.preDialRules = preDialRules
    }

    /// Decodes the settings; a missing key takes its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        defaultNumber = try container.decodeIfPresent(String.self, forKey: .defaultNumber)
        pool = try container.decodeIfPresent([PooledCallerID].self, forKey: .pool) ?? []
        rotation = try container.decodeIfPresent(CallerIDRotation.self, forKey: .rotation) ?? .roundRobin
        dailyCapPerNumber = try container.decodeIfPresent(Int.self, forKey: .dailyCapPerNumber)
        preDialRules = try container.decodeIfPresent([PreDialCallerIDRule].self, forKey: .preDialRules) ?? []
    }

    private enum CodingKeys: String, CodingKey { case defaultNumber, pool, rotation, dailyCapPerNumber, preDialRules }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(defaultNumber, forKey: .defaultNumber)
        try container.encode(pool, forKey: .pool)
        try container.encode(rotation, forKey: .rotation)
        try container.encodeIfPresent(dailyCapPerNumber, forKey: .dailyCapPerNumber)
        try container.encode(preDialRules, forKey: .preDialRules)
    }
}

/// The choice of the number presented on one call.
public enum CallerIDSelection {
    /// The number to present when calling `contact`, or `nil` to present none of the campaign's
    /// (the trunk's own).
    ///
    /// - Parameters:
    ///   - usedToday: calls so far today per pooled number (the caller counts, per its own day).
    ///   - rotationCursor: for round-robin, the pool index to try first; the caller advances it
    ///     past the chosen number's index (returned with the number).
    /// - Returns: the number, and its pool index when it came from the pool.
    public static func choose(
        for contact: Contact,
        settings: CallerIDSettings,
        usedToday: [String: Int] = [:],
        rotationCursor: Int = 0
    ) -> (number: String, poolIndex: Int?)? {
        choose(
            calling: contact.phoneNumber, ownCallerID: contact.callerID, fields: contact.fields, settings: settings,
            usedToday: usedToday, rotationCursor: rotationCursor)
    }

    /// The number to present when calling `phoneNumber`, whose contact has `ownCallerID` and
    /// `fields`; see ``choose(for:settings:usedToday:rotationCursor:)``.
    public static func choose(
        calling phoneNumber: String,
        ownCallerID: String?,
        fields: [String: String] = [:],
        settings: CallerIDSettings,
        usedToday: [String: Int] = [:],
        rotationCursor: Int = 0
    ) -> (number: String, poolIndex: Int?)? {
        if let rule = settings.preDialRules.first(where: { $0.matches(calling: phoneNumber, fields: fields) }) {
            return (rule.present, nil)
        }
        if let own = ownCallerID, !own.isEmpty { return (own, nil) }
        func uses(_ index: Int) -> Int { usedToday[settings.pool[index].number, default: 0] }
        let usable = settings.pool.indices.filter { index in
            guard let cap = settings.dailyCapPerNumber else { return true }
            return uses(index) < cap
        }
        // Local presence: the longest matching prefix is the most local number; among equally
        // local numbers the least used today wears them evenly.
        let local = usable.compactMap { index -> (index: Int, length: Int)? in
            let lengths = settings.pool[index].localPrefixes.filter { phoneNumber.hasPrefix($0) }.map(\.count)
            return lengths.max().map { (index, $0) }
        }
        if let best = local.min(by: { lhs, rhs in
            if lhs.length != rhs.length { return lhs.length > rhs.length }
            return uses(lhs.index) < uses(rhs.index)
        }) {
            return (settings.pool[best.index].number, best.index)
        }
        if !usable.isEmpty {
            switch settings.rotation {
            case .roundRobin:
                let count = settings.pool.count
                let start = ((rotationCursor % count) + count) % count
                let index = usable.min { ($0 - start + count) % count < ($1 - start + count) % count }!
                return (settings.pool[index].number, index)
            case .leastUsed:
                let index = usable.min { uses($0) < uses($1) }!
                return (settings.pool[index].number, index)
            }
        }
        if let fallback = settings.defaultNumber, !fallback.isEmpty { return (fallback, nil) }
        return nil
    }
}
