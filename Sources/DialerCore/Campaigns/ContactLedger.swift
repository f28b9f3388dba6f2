public import Foundation

/// What the ledger did with a result or a disposition.
public enum LedgerUpdate: Hashable, Sendable {
    /// Applied; the contact as it now is.
    case applied(Contact)
    /// The attempt already has its result (or its disposition), or the contact has moved on to
    /// a later attempt: nothing changed. Nodes repeat results after reconnecting, so this is
    /// normal, not an error.
    case duplicate
    /// No such attempt, or it was not for the contact the report names: nothing changed.
    case unknownAttempt
    /// A disposition for an attempt whose result has not come: nothing changed (the node sends
    /// the disposition with the result instead).
    case attemptStillOpen
}

/// One campaign's contacts and attempts, in memory: the rules of hand-out and results applied
/// to a whole campaign.
///
/// The manager's store applies the same ``Contact`` transitions inside its transactions; this
/// value is the reference the tests, the simulator and an in-memory store use. Every attempt
/// is kept, so a result is idempotent by attempt id even after the contact has moved on.
public struct ContactLedger: Sendable {
    /// The campaign's settings, used to schedule retries.
    public var settings: CampaignSettings
    /// The contacts, by id.
    public private(set) var contacts: [ContactID: Contact]
    /// Every attempt handed out, open and closed, by id.
    public private(set) var attempts: [AttemptID: AttemptRecord]
    /// The open attempts per node, so that a lost node's attempts can be closed.
    private var openByNode: [MemberID: Set<AttemptID>] = [:]

    /// A ledger of `contacts` with no attempts.
    public init(settings: CampaignSettings, contacts: some Sequence<Contact> = [Contact]()) {
        self.settings = settings
        self.contacts = Dictionary(contacts.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.attempts = [:]
    }

    /// Adds `contact`, or replaces the contact with its id unless that one is in an attempt
    /// (its attempt must end first). Returns whether it was stored.
    @discardableResult
    public mutating func upsert(_ contact: Contact) -> Bool {
        if contacts[contact.id]?.state.openAttempt != nil { return false }
        contacts[contact.id] = contact
        return true
    }

    /// Hands `contact` out as `attempt` to `node` (see ``Contact/beginAttempt(_:now:)``).
    ///
    /// - Throws: ``AttemptStartError`` when the contact is unknown, closed or already in an
    ///   attempt, or the attempt id was used before.
    /// - Returns: the contact as handed out.
    @discardableResult
    public mutating func startAttempt(
        _ attempt: AttemptID, contact id: ContactID, node: MemberID? = nil, now: Date
    ) throws(AttemptStartError) -> Contact {
        guard attempts[attempt] == nil else { throw .duplicateAttempt(attempt) }
        guard var contact = contacts[id] else { throw .unknownContact(id) }
        try contact.beginAttempt(attempt, now: now)
        contacts[id] = contact
        attempts[attempt] = AttemptRecord(id: attempt, contact: id, node: node, startedAt: now)
        if let node { openByNode[node, default: []].insert(attempt) }
        return contact
    }

    /// Applies the result of an attempt, once (see ``Contact/applyResult(_:settings:now:)``).
    public mutating func apply(result: AttemptResult, now: Date) -> LedgerUpdate {
        guard var record = attempts[result.attempt], record.contact == result.contact,
            var contact = contacts[result.contact]
        else { return .unknownAttempt }
        guard record.isOpen else { return .duplicate }
        // As the manager's store keeps them: details that cannot be right are left out.
        let details = result.withoutInvalidCallDetails()
        record.outcome = result.outcome
        record.disposition = result.disposition
        record.agent = result.agent
        record.answeredAt = details.answeredAt
        record.dialedAt = details.dialedAt
        record.bridgedAt = details.bridgedAt
        record.callEndedAt = details.callEndedAt
        record.callerID = details.callerID
        record.endedAt = now
        attempts[result.attempt] = record
        if let node = record.node { openByNode[node]?.remove(result.attempt) }
        // The contact is in exactly this attempt (hand-out and result are the only ways in and
        // out of an attempt), so the contact always takes the result.
        _ = contact.applyResult(result, settings: settings, now: now)
        contacts[result.contact] = contact
        return .applied(contact)
    }

    /// Applies a disposition recorded after its attempt's result, once (see
    /// ``Contact/applyDisposition(_:attempt:settings:now:)``).
    public mutating func apply(disposition: Disposition, attempt: AttemptID, agent: AgentID? = nil, now: Date)
        -> LedgerUpdate
    {
        guard var record = attempts[attempt], var contact = contacts[record.contact] else { return .unknownAttempt }
        guard !record.isOpen else { return .attemptStillOpen }
        guard record.disposition == nil,
            case .applied = contact.applyDisposition(disposition, attempt: attempt, settings: settings, now: now)
        else { return .duplicate }
        record.disposition = disposition
        record.agent = record.agent ?? agent
        attempts[attempt] = record
        contacts[record.contact] = contact
        return .applied(contact)
    }

    /// Closes every open attempt of a lost node as ``AttemptOutcome/unknown``: each contact is
    /// retried after the retry interval, never at once, since its customer may have just been
    /// called.
    ///
    /// - Returns: the attempts closed, in id order.
    @discardableResult
    public mutating func nodeLost(_ node: MemberID, now: Date) -> [AttemptID] {
        let open = (openByNode.removeValue(forKey: node) ?? []).sorted()
        for attempt in open {
            guard let record = attempts[attempt] else { continue }
            _ = apply(result: AttemptResult(attempt: attempt, contact: record.contact, outcome: .unknown), now: now)
        }
        return open
    }

    /// Resets the attempt counters of every contact not in an attempt; those closed for
    /// having used their attempts become fresh.
    ///
    /// - Returns: the number of contacts reopened.
    @discardableResult
    public mutating func resetAttempts(now: Date) -> Int {
        var reopened = 0
        for id in contacts.keys where contacts[id]!.resetAttempts(now: now) {
            reopened += 1
        }
        return reopened
    }

    /// The attempts still open, oldest first.
    public var openAttempts: [AttemptRecord] {
        attempts.values.filter(\.isOpen).sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    /// Contacts closed for having used their attempts (rejected for exceeding the limit).
    public var exhaustedCount: Int {
        contacts.values.count(where: { $0.state == .final(.attemptsExhausted) })
    }

    /// The campaign's figures at `now`.
    public func report(now: Date) -> CampaignReport {
        CampaignReport(contacts: contacts.values, attempts: attempts.values, now: now)
    }
}
