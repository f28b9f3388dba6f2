public import Foundation

/// A callback an agent scheduled.
public struct Callback: Hashable, Sendable, Codable {
    /// When the customer asked to be called.
    public var at: Date
    /// The only agent who may take the call; `nil` for any agent of the campaign.
    public var privateAgent: AgentID?

    /// A callback at `at`, private to `privateAgent` when given.
    public init(at: Date, privateAgent: AgentID? = nil) {
        self.at = at
        self.privateAgent = privateAgent
    }

    private enum CodingKeys: String, CodingKey { case at, privateAgent }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        at = try container.decode(Date.self, forKey: .at)
        privateAgent = try container.decodeAgentIfPresent(forKey: .privateAgent)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(at, forKey: .at)
        try container.encodeAgentIfPresent(privateAgent, forKey: .privateAgent)
    }
}

/// Why a contact is closed.
public enum FinalReason: Hashable, Sendable {
    /// An attempt's outcome closed it: a live answer without a disposition, an invalid number,
    /// or an outcome the campaign does not retry.
    case outcome(AttemptOutcome)
    /// An agent's final disposition, by name.
    case disposition(String)
    /// It used ``CampaignSettings/maximumAttempts`` without being closed otherwise (a contact
    /// "rejected for exceeding the attempt limit").
    case attemptsExhausted
}

/// The kinds of ``ContactState``, for counting.
public enum ContactStateKind: String, Hashable, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    /// ``ContactState/fresh``.
    case fresh
    /// ``ContactState/scheduled(at:)``.
    case scheduled
    /// ``ContactState/inAttempt(_:)``.
    case inAttempt
    /// ``ContactState/final(_:)``.
    case final
}

/// Where a contact is in its life.
public enum ContactState: Hashable, Sendable, Codable {
    /// Never attempted (or its attempts were reset).
    case fresh
    /// Waiting for its next attempt, not before `at`.
    case scheduled(at: Date)
    /// Handed out as this attempt, whose result has not come back.
    case inAttempt(AttemptID)
    /// Closed; only an operator reopens it.
    case final(FinalReason)

    /// The state's kind.
    public var kind: ContactStateKind {
        switch self {
        case .fresh: .fresh
        case .scheduled: .scheduled
        case .inAttempt: .inAttempt
        case .final: .final
        }
    }

    /// The attempt the contact is in, if any.
    public var openAttempt: AttemptID? {
        if case .inAttempt(let attempt) = self { return attempt }
        return nil
    }

    private enum CodingKeys: String, CodingKey { case kind, nextAttemptAt, attempt, reason, outcome, disposition }
    private enum Reason: String, Codable { case outcome, disposition, attemptsExhausted }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(ContactStateKind.self, forKey: .kind) {
        case .fresh: self = .fresh
        case .scheduled: self = .scheduled(at: try container.decode(Date.self, forKey: .nextAttemptAt))
        case .inAttempt: self = .inAttempt(try container.decode(AttemptID.self, forKey: .attempt))
        case .final:
            switch try container.decode(Reason.self, forKey: .reason) {
            case .outcome: self = .final(.outcome(try container.decode(AttemptOutcome.self, forKey: .outcome)))
            case .disposition: self = .final(.disposition(try container.decode(String.self, forKey: .disposition)))
            case .attemptsExhausted: self = .final(.attemptsExhausted)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .fresh: break
        case .scheduled(let at): try container.encode(at, forKey: .nextAttemptAt)
        case .inAttempt(let attempt): try container.encode(attempt, forKey: .attempt)
        case .final(.outcome(let outcome)):
            try container.encode(Reason.outcome, forKey: .reason)
            try container.encode(outcome, forKey: .outcome)
        case .final(.disposition(let name)):
            try container.encode(Reason.disposition, forKey: .reason)
            try container.encode(name, forKey: .disposition)
        case .final(.attemptsExhausted):
            try container.encode(Reason.attemptsExhausted, forKey: .reason)
        }
    }
}

/// One record of a contact list: whom to call, and where the campaign is with them.
public struct Contact: Hashable, Sendable, Codable, Identifiable {
    public var id: ContactID
    /// The campaign dialing the contact.
    public var campaign: CampaignID
    /// The list the contact was imported into.
    public var list: ContactListID
    /// The number to call, E.164 (`+4512345678`). Personal data: never log it whole.
    public var phoneNumber: String
    /// The IANA identifier of the contact's own time zone, when the list gives it.
    public var timeZone: String?
    /// A caller ID to present to this contact, overriding the campaign's.
    public var callerID: String?
    /// A priority for ``SortField/priority``.
    public var priority: Int
    /// Custom fields (name, account, anything shown to the agent). Personal data.
    public var fields: [String: String]
    /// Where the contact is in its life.
    public var state: ContactState
    /// Attempts made (an attempt counts when the contact is handed out).
    public var attempts: Int
    /// The outcome of the last attempt with a result.
    public var lastOutcome: AttemptOutcome?
    /// The name of the disposition recorded for the last attempt.
    public var lastDisposition: String?
    /// The last attempt handed out.
    public var lastAttempt: AttemptID?
    /// When the last attempt was handed out.
    public var lastAttemptAt: Date?
    /// The callback an agent scheduled, until an attempt's result consumes it.
    public var callback: Callback?
    /// When the contact was created (imported or added).
    public var createdAt: Date
    /// When the contact last changed.
    public var updatedAt: Date

    /// A contact; by default fresh, created and updated at `createdAt`.
    public init(
        id: ContactID,
        campaign: CampaignID,
        list: ContactListID,
        phoneNumber: String,
        timeZone: String? = nil,
        callerID: String? = nil,
        priority: Int = 0,
        fields: [String: String] = [:],
        state: ContactState = .fresh,
        attempts: Int = 0,
        lastOutcome: AttemptOutcome? = nil,
        lastDisposition: String? = nil,
        lastAttempt: AttemptID? = nil,
        lastAttemptAt: Date? = nil,
        callback: Callback? = nil,
        createdAt: Date,
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.campaign = campaign
        self.list = list
        self.phoneNumber = phoneNumber
        self.timeZone = timeZone
        self.callerID = callerID
        self.priority = priority
        self.fields = fields
        self.state = state
        self.attempts = attempts
        self.lastOutcome = lastOutcome
        self.lastDisposition = lastDisposition
        self.lastAttempt = lastAttempt
        self.lastAttemptAt = lastAttemptAt
        self.callback = callback
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Whether the contact has not been attempted yet (or its attempts were reset).
    public var isFresh: Bool { attempts == 0 }

    /// The agent a due callback is private to: the feeder flags the contact with it, and only
    /// that agent may take the call.
    public var privateCallbackAgent: AgentID? { callback?.privateAgent }

    /// Since when the contact has been waiting to be dialed: its next-attempt time, or its
    /// creation for a fresh contact. The oldest goes first among otherwise equal contacts.
    public var waitingSince: Date {
        if case .scheduled(let at) = state { return at }
        return createdAt
    }
}

/// Why an attempt could not start on a contact.
public enum AttemptStartError: Error, Hashable, Sendable {
    /// The contact is already in an open attempt: a contact is never in two at once.
    case alreadyInAttempt(contact: ContactID, attempt: AttemptID)
    /// The contact is closed.
    case contactFinal(ContactID)
    /// No such contact.
    case unknownContact(ContactID)
    /// The attempt id was used before; ids must be unique, or results could not be told apart.
    case duplicateAttempt(AttemptID)
}

/// What reporting a result or a disposition did to a contact.
public enum ContactUpdate: Hashable, Sendable {
    /// Applied; the contact's new state.
    case applied(ContactState)
    /// Not applied, and nothing changed: the attempt is not the one the report can apply to
    /// (a repeated or stale result, or a second disposition).
    case ignored
}

extension Contact {
    /// Hands the contact out as `attempt`: counts the attempt and marks the contact as in it.
    ///
    /// A contact is never in two attempts at once: starting one on a contact already in an
    /// attempt throws, and so does starting one on a closed contact. Whether the contact may be
    /// dialed now is ``Dialability``'s question, asked before.
    public mutating func beginAttempt(_ attempt: AttemptID, now: Date) throws(AttemptStartError) {
        switch state {
        case .inAttempt(let open): throw .alreadyInAttempt(contact: id, attempt: open)
        case .final: throw .contactFinal(id)
        case .fresh, .scheduled: break
        }
        state = .inAttempt(attempt)
        attempts += 1
        lastAttempt = attempt
        lastAttemptAt = now
        lastDisposition = nil
        updatedAt = now
    }

    /// Takes back an attempt that was handed out but never dialed (its node lost the queue with
    /// the contact still in its buffer): the contact is as it was before, as far as the feeder
    /// and the attempt limit can tell.
    ///
    /// The attempt does not count; the contact is fresh again if it had no other attempt, and
    /// otherwise due again since the hand-out (it was due then at the latest). `previous` is the
    /// contact's attempt before this one, with when it started and its disposition, if any.
    ///
    /// - Returns: whether the contact was in `attempt`; if not, nothing changed.
    @discardableResult
    public mutating func returnAttempt(
        _ attempt: AttemptID, handedOutAt: Date, previous: (attempt: AttemptID, at: Date, disposition: String?)?
    ) -> Bool {
        guard case .inAttempt(let open) = state, open == attempt else { return false }
        attempts = max(0, attempts - 1)
        state = attempts == 0 && callback == nil ? .fresh : .scheduled(at: handedOutAt)
        lastAttempt = previous?.attempt
        lastAttemptAt = previous?.at
        lastDisposition = previous?.disposition
        return true
    }

    /// Applies the result of the contact's open attempt and schedules what comes next.
    ///
    /// Only the result of the attempt the contact is in applies, once: a repeated result, or a
    /// result of an older attempt, is ``ContactUpdate/ignored``. That makes results idempotent
    /// by attempt id without remembering every attempt.
    ///
    /// Next: an agent's disposition decides when there is one (final; retry after
    /// ``RetryIntervals/agentRetry``; callback at its time). Otherwise the outcome does: a live
    /// answer or an invalid number closes the contact, any other outcome schedules a retry after
    /// its interval (``RetryIntervals/interval(after:)``; `unknown` never sooner than
    /// ``RetryIntervals/minimumUnknown``) or closes it when the campaign does not retry that
    /// outcome. A retry of a contact that used its attempts closes it as
    /// ``FinalReason/attemptsExhausted`` instead.
    public mutating func applyResult(
        _ result: AttemptResult, settings: CampaignSettings, now: Date
    ) -> ContactUpdate {
        guard result.contact == id, state.openAttempt == result.attempt else { return .ignored }
        lastOutcome = result.outcome
        lastDisposition = result.disposition?.name
        // The attempt was the callback (if one was due): it is consumed, whatever the outcome.
        callback = nil
        state = nextState(outcome: result.outcome, disposition: result.disposition, settings: settings, now: now)
        updatedAt = now
        return .applied(state)
    }

    /// Applies an agent's disposition that arrives after its attempt's result (the agent
    /// records it at the end of wrap-up, after the call ended).
    ///
    /// Applies once, and only for the contact's last attempt when its result is in and no
    /// disposition was recorded for it; otherwise ``ContactUpdate/ignored``. A disposition for
    /// an attempt still open is ignored too: report it with the result.
    public mutating func applyDisposition(
        _ disposition: Disposition, attempt: AttemptID, settings: CampaignSettings, now: Date
    ) -> ContactUpdate {
        guard lastAttempt == attempt, lastDisposition == nil, state.openAttempt == nil,
            let outcome = lastOutcome
        else { return .ignored }
        lastDisposition = disposition.name
        callback = nil
        state = nextState(outcome: outcome, disposition: disposition, settings: settings, now: now)
        updatedAt = now
        return .applied(state)
    }

    /// Resets the attempt counter so that the contact is dialed again; a contact closed for
    /// having used its attempts becomes fresh. Contacts closed otherwise stay closed.
    ///
    /// - Returns: whether the contact was reopened.
    @discardableResult
    public mutating func resetAttempts(now: Date) -> Bool {
        guard state.openAttempt == nil else { return false }
        attempts = 0
        updatedAt = now
        guard state == .final(.attemptsExhausted) else { return false }
        state = .fresh
        return true
    }

    private mutating func nextState(
        outcome: AttemptOutcome, disposition: Disposition?, settings: CampaignSettings, now: Date
    ) -> ContactState {
        func retry(after interval: Duration) -> ContactState {
            if attempts >= settings.maximumAttempts { return .final(.attemptsExhausted) }
            return .scheduled(at: now.addingTimeInterval(interval.seconds))
        }
        if let disposition {
            switch disposition.action {
            case .final:
                return .final(.disposition(disposition.name))
            case .retry:
                return retry(after: settings.retryIntervals.agentRetry)
            case .callback(let at, let agent):
                // A promise to the customer: not bound by the attempt limit.
                callback = Callback(at: at, privateAgent: agent)
                return .scheduled(at: at)
            }
        }
        guard let interval = settings.retryIntervals.interval(after: outcome) else {
            return .final(.outcome(outcome))
        }
        return retry(after: interval)
    }
}
