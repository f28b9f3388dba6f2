public import Foundation

/// Live answers and abandons over one rolling window, and their ratio.
public struct WindowedAbandonRate: Hashable, Sendable, Codable {
    /// The window.
    public var window: RegulatedWindow
    /// Live answers counted in the window (connected plus abandoned).
    public var liveAnswers: Int
    /// Abandoned calls counted in the window.
    public var abandons: Int

    /// Counts over `window`.
    public init(window: RegulatedWindow, liveAnswers: Int = 0, abandons: Int = 0) {
        self.window = window
        self.liveAnswers = liveAnswers
        self.abandons = abandons
    }

    /// Abandons over live answers; `nil` without live answers.
    public var rate: Double? { liveAnswers > 0 ? Double(abandons) / Double(liveAnswers) : nil }
}

/// A campaign's figures, from its contacts and its attempts: the live panel and the reports.
public struct CampaignReport: Hashable, Sendable, Codable {
    /// Contacts in the campaign.
    public var contacts: Int
    /// Contacts per state.
    public var contactsByState: [ContactStateKind: Int]
    /// Contacts per outcome of their last attempt (never attempted contacts are not counted).
    public var contactsByLastOutcome: [AttemptOutcome: Int]
    /// Contacts per disposition of their last attempt.
    public var contactsByLastDisposition: [String: Int]
    /// Contacts closed for having used their attempts (rejected for exceeding the limit).
    public var exhausted: Int
    /// Attempts handed out.
    public var attempts: Int
    /// Attempts without a result yet.
    public var openAttempts: Int
    /// Attempts per outcome.
    public var attemptsByOutcome: [AttemptOutcome: Int]
    /// Attempts per recorded disposition.
    public var attemptsByDisposition: [String: Int]
    /// Live answers over all attempts (connected plus abandoned).
    public var liveAnswers: Int
    /// Abandoned calls over all attempts.
    public var abandons: Int
    /// Abandoned calls by the cause their node reported (``AbandonCause`` raw values), and
    /// `"unspecified"` for those reported without one.
    public var abandonsByCause: [String: Int]
    /// Calls answered by machines.
    public var machines: Int
    /// Attempts closed ``AttemptOutcome/unknown`` on which an agent talked: their node was lost
    /// while the call was connected (``AttemptRecord/nodeLostOnCall``). Not live answers in the
    /// abandon rate, since nobody reported how the calls went.
    public var nodeLostOnCall: Int
    /// The abandon rate over the last 24 hours (Ofcom's window).
    public var abandonRate24Hours: WindowedAbandonRate
    /// The abandon rate over the last 30 days (the FTC's window).
    public var abandonRate30Days: WindowedAbandonRate

    /// Abandons over live answers over all attempts; `nil` without live answers.
    public var abandonRate: Double? { liveAnswers > 0 ? Double(abandons) / Double(liveAnswers) : nil }

    /// The figures of `contacts` and `attempts` at `now`.
    ///
    /// An attempt counts in a rolling window at its ``AttemptRecord/countedAt`` (its answer),
    /// when that lies in (`now` − window, `now`].
    public init(contacts: some Sequence<Contact>, attempts: some Sequence<AttemptRecord>, now: Date) {
        self.init(contacts: ContactTally(contacts), attempts: attempts, now: now)
    }

    /// The figures of contacts already counted (a store counts them in its database) and of
    /// `attempts` at `now`.
    public init(contacts tally: ContactTally, attempts: some Sequence<AttemptRecord>, now: Date) {
        self.contacts = tally.contacts
        self.contactsByState = tally.byState
        self.contactsByLastOutcome = tally.byLastOutcome
        self.contactsByLastDisposition = tally.byLastDisposition
        self.exhausted = tally.exhausted

        self.attempts = 0
        self.openAttempts = 0
        self.attemptsByOutcome = [:]
        self.attemptsByDisposition = [:]
        self.liveAnswers = 0
        self.abandons = 0
        self.abandonsByCause = [:]
        self.machines = 0
        self.nodeLostOnCall = 0
        var day = WindowedAbandonRate(window: .twentyFourHours)
        var month = WindowedAbandonRate(window: .thirtyDays)
        for attempt in attempts {
            self.attempts += 1
            if let name = attempt.disposition?.name { attemptsByDisposition[name, default: 0] += 1 }
            guard let outcome = attempt.outcome else {
                openAttempts += 1
                continue
            }
            attemptsByOutcome[outcome, default: 0] += 1
            if outcome == .machine { machines += 1 }
            if attempt.nodeLostOnCall { nodeLostOnCall += 1 }
            guard outcome.isLiveAnswer else { continue }
            let abandoned = outcome == .abandoned
            liveAnswers += 1
            if abandoned {
                abandons += 1
                abandonsByCause[attempt.abandonCause?.rawValue ?? "unspecified", default: 0] += 1
            }
            let age = now.timeIntervalSince(attempt.countedAt)
            // The window holds (now - length, now]: an answer exactly `length` ago has left it.
            func count(into figure: inout WindowedAbandonRate) {
                guard age >= 0, age < figure.window.length.seconds else { return }
                figure.liveAnswers += 1
                if abandoned { figure.abandons += 1 }
            }
            count(into: &day)
            count(into: &month)
        }
        self.abandonRate24Hours = day
        self.abandonRate30Days = month
    }
}

/// A campaign's contacts counted by what its ``CampaignReport`` shows of each: state, last
/// outcome, last disposition, and whether the attempts ran out.
///
/// A report of a large list needs only these counts, so a store counts groups of alike contacts
/// in its database (``add(state:attemptsExhausted:lastOutcome:lastDisposition:count:)``) instead
/// of reading every contact.
public struct ContactTally: Hashable, Sendable {
    /// Contacts counted.
    public private(set) var contacts = 0
    /// Contacts per state.
    public private(set) var byState: [ContactStateKind: Int] = [:]
    /// Contacts per outcome of their last attempt.
    public private(set) var byLastOutcome: [AttemptOutcome: Int] = [:]
    /// Contacts per disposition of their last attempt.
    public private(set) var byLastDisposition: [String: Int] = [:]
    /// Contacts closed for having used their attempts.
    public private(set) var exhausted = 0

    /// No contacts.
    public init() {}

    /// The counts of `contacts`.
    public init(_ contacts: some Sequence<Contact>) {
        for contact in contacts {
            add(
                state: contact.state.kind, attemptsExhausted: contact.state == .final(.attemptsExhausted),
                lastOutcome: contact.lastOutcome, lastDisposition: contact.lastDisposition)
        }
    }

    /// Counts `count` contacts alike in what the report shows; a count below 1 adds nothing.
    public mutating func add(
        state: ContactStateKind, attemptsExhausted: Bool, lastOutcome: AttemptOutcome?, lastDisposition: String?,
        count: Int = 1
    ) {
        guard count > 0 else { return }
        contacts += count
        byState[state, default: 0] += count
        if let lastOutcome { byLastOutcome[lastOutcome, default: 0] += count }
        if let lastDisposition { byLastDisposition[lastDisposition, default: 0] += count }
        if attemptsExhausted { exhausted += count }
    }
}
