public import DialerCore
public import DialerImport
public import FoundationEssentials

// The records the store reads and writes besides the domain's own types (`Campaign`,
// `Contact`, `AttemptRecord` ...), which it uses as they are.

// MARK: - Errors

/// Why a store operation was refused. The message names ids and rules, never a phone number or a
/// contact's fields (personal data): it ends up in API responses and logs.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The named thing does not exist ("campaign c1", "list l1").
    case notFound(String)
    /// The named thing exists already (an id, a login, a number in a list).
    case alreadyExists(String)
    /// The operation would break a rule about something in use: deleting a contact that is in an
    /// open attempt, replacing a list a node is dialing, deleting a list a campaign dials.
    case conflict(String)
    /// A value is not acceptable (a phone number that is not one, an unknown time zone).
    case invalid(String)
    /// The campaign's settings are invalid, each field with what is wrong.
    case invalidSettings([FieldError])
    /// An import stopped (its file is unreadable as a whole); the list is as it was.
    case importFailed(job: ImportJobID, reason: String)
    /// A stored row cannot be read back (a value no version of the store writes).
    case corruptRow(String)
    /// The database cannot be reached or refused the operation for a reason of its own (a lost
    /// connection, a full disk, a server shutting down): the operation did not happen.
    case unavailable(String)

    public var description: String {
        switch self {
        case .notFound(let what): "\(what) does not exist"
        case .alreadyExists(let what): "\(what) already exists"
        case .conflict(let message): message
        case .invalid(let message): message
        case .invalidSettings(let errors): "invalid settings: " + errors.map(\.description).joined(separator: "; ")
        case .importFailed(let job, let reason): "import \(job) failed: \(reason)"
        case .corruptRow(let message): "unreadable stored row: \(message)"
        case .unavailable(let message): "the database is unavailable: \(message)"
        }
    }
}

// MARK: - Contact lists and contacts

/// A contact list: the records one campaign dials.
public struct ContactList: Hashable, Sendable, Codable, Identifiable {
    /// The list's id, chosen by the operator.
    public var id: ContactListID
    /// A short name shown to supervisors.
    public var name: String
    /// A longer description.
    public var description: String
    /// The campaign dialing the list, if one does.
    public var campaign: CampaignID?
    /// How many contacts the list holds.
    public var contactCount: Int
    /// When the list was created.
    public var createdAt: Date
    /// When the list last changed (renamed, or imported into).
    public var updatedAt: Date

    /// A list record.
    public init(
        id: ContactListID, name: String, description: String = "", campaign: CampaignID? = nil,
        contactCount: Int = 0, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.campaign = campaign
        self.contactCount = contactCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }
}

/// What an operator writes to add or edit one contact: the parts of a ``Contact`` that are not
/// the dialer's bookkeeping.
public struct ContactDraft: Hashable, Sendable, Codable {
    /// The number as written; the store normalises it to E.164 with a default region.
    public var phone: String
    /// The contact's IANA time zone; when `nil` the store guesses it from the number
    /// (`TimeZoneGuess`), and the campaign's zone applies when the number does not tell.
    public var timeZone: String?
    /// A caller ID for this contact, normalised like the phone number.
    public var callerID: String?
    /// The contact's priority (see the campaign's priority order).
    public var priority: Int
    /// Custom fields shown to the agent.
    public var fields: [String: String]

    /// A draft.
    public init(
        phone: String, timeZone: String? = nil, callerID: String? = nil, priority: Int = 0,
        fields: [String: String] = [:]
    ) {
        self.phone = phone
        self.timeZone = timeZone
        self.callerID = callerID
        self.priority = priority
        self.fields = fields
    }
}

/// Which contacts a search, a count or a reset is about. Every condition given must hold.
public struct ContactFilter: Hashable, Sendable {
    /// Contacts of this list.
    public var list: ContactListID?
    /// Contacts of the list this campaign dials.
    public var campaign: CampaignID?
    /// The contact with this number (E.164, compared exactly).
    public var phone: String?
    /// Contacts in one of these states.
    public var states: Set<ContactStateKind>?
    /// Contacts whose last attempt ended so.
    public var lastOutcome: AttemptOutcome?
    /// Contacts with at least this many attempts.
    public var minimumAttempts: Int?
    /// Contacts whose custom fields have these exact values.
    public var fields: [String: String]

    /// A filter; with no condition it matches every contact.
    public init(
        list: ContactListID? = nil, campaign: CampaignID? = nil, phone: String? = nil,
        states: Set<ContactStateKind>? = nil, lastOutcome: AttemptOutcome? = nil, minimumAttempts: Int? = nil,
        fields: [String: String] = [:]
    ) {
        self.list = list
        self.campaign = campaign
        self.phone = phone
        self.states = states
        self.lastOutcome = lastOutcome
        self.minimumAttempts = minimumAttempts
        self.fields = fields
    }
}

/// One page of a contact search, in contact id order.
public struct ContactPage: Hashable, Sendable {
    /// The contacts of the page.
    public var contacts: [Contact]
    /// The id to pass as `after` for the next page; `nil` on the last page.
    public var nextAfter: ContactID?

    /// A page.
    public init(contacts: [Contact], nextAfter: ContactID?) {
        self.contacts = contacts
        self.nextAfter = nextAfter
    }
}

/// What resetting attempt counters did.
public struct AttemptReset: Hashable, Sendable, Codable {
    /// Contacts whose counter was set to zero (every matching contact not in an open attempt).
    public var reset: Int
    /// Of those, contacts closed for having used their attempts that are fresh again.
    public var reopened: Int

    /// Counts.
    public init(reset: Int, reopened: Int) {
        self.reset = reset
        self.reopened = reopened
    }
}

/// A contact handed to a node: the attempt to report results under, and the contact as handed
/// out (in the attempt, its counter already counting it).
/// Where the manager routes an inbound call (DOMAIN.md, "Inbound and blending"), in order of
/// precedence.
public enum InboundRouting: Hashable, Sendable {
    /// The caller is an open contact of an outbound campaign: the call goes to that campaign's
    /// queue, recorded as an attempt on the contact (`handOut`, `nil` when the contact is being
    /// dialed right now and so cannot take a second attempt).
    case openContact(campaign: Campaign, handOut: AttemptHandOut?, contact: Contact)
    /// The number called is a campaign's hotline: the caller became (or already was) a contact of
    /// it; `handOut` is `nil` when the caller's contact there is closed.
    case hotline(campaign: Campaign, handOut: AttemptHandOut?, contact: Contact)
    /// A plain service call: the line's own queue.
    case service
}

/// What handing back an undialed attempt did.
public enum AttemptReturnResult: Hashable, Sendable {
    /// The contact is as it was before the hand-out, and the attempt is gone.
    case returned
    /// No such attempt (never handed out, or already returned).
    case notHeld
    /// The attempt was handed to another node or under another epoch: nothing changed.
    case heldElsewhere
    /// The attempt already has a result (a report, or the sweep of a lost node): nothing changed.
    case alreadyClosed
}

public struct AttemptHandOut: Hashable, Sendable {
    /// The attempt's unique id.
    public var attempt: AttemptID
    /// The contact; ``Contact/privateCallbackAgent`` names the only agent who may take a private
    /// callback.
    public var contact: Contact

    /// A hand-out.
    public init(attempt: AttemptID, contact: Contact) {
        self.attempt = attempt
        self.contact = contact
    }
}

/// One attempt in a contact's history: the attempt's record with what the record itself does
/// not say, the campaign it was made for (a list may change campaign) and when the agent's
/// disposition was recorded.
public struct ContactAttempt: Hashable, Sendable {
    /// The campaign that made the attempt.
    public var campaign: CampaignID
    /// The attempt: hand-out, result, call details, agent and disposition.
    public var record: AttemptRecord
    /// When the disposition was recorded; `nil` without one.
    public var dispositionAt: Date?

    /// An attempt of `campaign`.
    public init(campaign: CampaignID, record: AttemptRecord, dispositionAt: Date? = nil) {
        self.campaign = campaign
        self.record = record
        self.dispositionAt = dispositionAt
    }
}

/// One contact's answer to "why not dialable": the verdict of the domain's rules now, and when
/// time alone would make the contact dialable.
public struct ContactDialability: Hashable, Sendable {
    /// The contact.
    public var contact: Contact
    /// Dialable, or every rule holding it with the instant each lets go.
    public var verdict: DialabilityVerdict
    /// The earliest instant the contact is dialable if nothing but time changes; `nil` when time
    /// alone never makes it dialable (DNC, attempts used, a closed contact ...).
    public var earliestDialable: Date?

    /// A verdict.
    public init(contact: Contact, verdict: DialabilityVerdict, earliestDialable: Date?) {
        self.contact = contact
        self.verdict = verdict
        self.earliestDialable = earliestDialable
    }
}

// MARK: - Do not call

/// Where a do-not-call number applies.
public enum DoNotCallScope: Hashable, Sendable {
    /// Every campaign.
    case global
    /// One campaign.
    case campaign(CampaignID)

    /// The campaign of a campaign scope.
    public var campaign: CampaignID? {
        if case .campaign(let id) = self { return id }
        return nil
    }
}

/// One do-not-call number.
public struct DoNotCallEntry: Hashable, Sendable {
    /// The number, E.164.
    public var phone: String
    /// Where it applies.
    public var scope: DoNotCallScope
    /// Why it was added, as the operator wrote it.
    public var note: String?
    /// When it was added.
    public var addedAt: Date

    /// An entry.
    public init(phone: String, scope: DoNotCallScope, note: String? = nil, addedAt: Date) {
        self.phone = phone
        self.scope = scope
        self.note = note
        self.addedAt = addedAt
    }
}

/// What a do-not-call import did.
public struct DoNotCallImportReport: Hashable, Sendable, Codable {
    /// Rows read.
    public var rowsRead: Int
    /// Numbers added.
    public var added: Int
    /// Numbers already on the list (or twice in the file).
    public var alreadyListed: Int
    /// Rows rejected.
    public var rejected: Int
    /// The first rejected rows, at most ``ImportOptions/reportedRejectedRows``.
    public var rejectedRows: [RejectedRow]

    /// A report.
    public init(
        rowsRead: Int = 0, added: Int = 0, alreadyListed: Int = 0, rejected: Int = 0, rejectedRows: [RejectedRow] = []
    ) {
        self.rowsRead = rowsRead
        self.added = added
        self.alreadyListed = alreadyListed
        self.rejected = rejected
        self.rejectedRows = rejectedRows
    }
}

// MARK: - Dispositions

/// What a campaign's disposition does, as configured (the instant of a callback is the agent's
/// to choose when recording it).
public enum DispositionKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// The contact is done.
    case final
    /// Call again after the campaign's agent-retry interval.
    case retry
    /// Call back at a date and time the agent gives.
    case callback
}

/// A disposition a campaign offers its agents.
public struct DispositionDefinition: Hashable, Sendable, Codable {
    /// The name agents pick ("sale", "call back" ...); unique within the campaign.
    public var name: String
    /// What it does.
    public var kind: DispositionKind
    /// Whether the agent may make the callback private (only that agent gets it); meaningful
    /// for callbacks only.
    public var privateAllowed: Bool

    /// A definition.
    public init(name: String, kind: DispositionKind, privateAllowed: Bool = false) {
        self.name = name
        self.kind = kind
        self.privateAllowed = privateAllowed
    }

    /// Whether `disposition` is one this definition allows: the same name and kind, and private
    /// only when allowed.
    public func allows(_ disposition: Disposition) -> Bool {
        guard disposition.name == name else { return false }
        switch (disposition.action, kind) {
        case (.final, .final), (.retry, .retry): return true
        case (.callback(_, let agent), .callback): return agent == nil || privateAllowed
        default: return false
        }
    }
}

// MARK: - Agents and teams

/// Identifies a team of agents.
public struct TeamID: StringIdentifier, Codable {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// What an operator sets on an agent (the password is set apart, and never read back).
public struct AgentProfile: Hashable, Sendable {
    /// The agent's id, chosen by the operator; the id the gateway and the nodes use.
    public var id: AgentID
    /// The name the agent logs in with; unique, compared case-insensitively.
    public var login: String
    /// The agent's name, for supervisors.
    public var name: String
    /// The team the agent belongs to, whose queue ranking the agent inherits.
    public var team: TeamID?
    /// The agent's own skills: queues with ranks. They override the team's rank for the same
    /// queue.
    public var skills: AgentSkills

    /// A profile.
    public init(id: AgentID, login: String, name: String, team: TeamID? = nil, skills: AgentSkills = AgentSkills()) {
        self.id = id
        self.login = login
        self.name = name
        self.team = team
        self.skills = skills
    }
}

/// A stored agent: the profile, and when it changed. The password hash is never part of it.
public struct AgentRecord: Hashable, Sendable {
    /// The agent as the operator set it.
    public var profile: AgentProfile
    /// When the agent was created.
    public var createdAt: Date
    /// When the profile or the password last changed.
    public var updatedAt: Date

    /// A record.
    public init(profile: AgentProfile, createdAt: Date, updatedAt: Date) {
        self.profile = profile
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The agent's id.
    public var id: AgentID { profile.id }
}

/// A team: a name and the queue ranking its agents inherit.
public struct Team: Hashable, Sendable {
    /// The team's id, chosen by the operator.
    public var id: TeamID
    /// The team's name, for supervisors.
    public var name: String
    /// The queues the team serves, each with its rank (a lower number is a higher priority):
    /// the ranking a team carries to put, say, a campaign queue above an inbound one.
    public var queueRanking: AgentSkills

    /// A team.
    public init(id: TeamID, name: String, queueRanking: AgentSkills = AgentSkills()) {
        self.id = id
        self.name = name
        self.queueRanking = queueRanking
    }
}

// MARK: - Imports

/// Identifies one import job.
public struct ImportJobID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The file format of an import.
public enum ImportFormat: String, Hashable, Sendable, Codable, CaseIterable {
    /// A CSV file with a header row.
    case csv
    /// A JSON array of objects.
    case json
}

/// What an import does to the list.
public enum ImportMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// Adds the file's contacts; numbers already in the list are skipped as duplicates.
    case append
    /// The file's contacts become the list: the old contacts go, the new ones are fresh.
    case replace
}

/// Where an import job is.
public enum ImportStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Created, not started.
    case queued
    /// Reading the file.
    case running
    /// Done: the list holds the file's contacts.
    case succeeded
    /// Stopped: the list is exactly as it was.
    case failed
}

/// One rejected row of an import, and why.
public struct RejectedRow: Hashable, Sendable, Codable {
    /// The row: the physical line a CSV record starts on, or a JSON element's 1-based index.
    public var row: Int
    /// Why, in words that never repeat the row's values.
    public var reason: String

    /// A rejected row.
    public init(row: Int, reason: String) {
        self.row = row
        self.reason = reason
    }
}

/// One import, as history keeps it: who imported what into which list, when, and how it went.
public struct ImportJob: Hashable, Sendable, Codable, Identifiable {
    /// The job's id, chosen by the store.
    public var id: ImportJobID
    /// The list imported into.
    public var list: ContactListID
    /// Who asked for the import (an API token's name, a user).
    public var requestedBy: String
    /// The file's name, when known.
    public var sourceName: String?
    /// The file's format.
    public var format: ImportFormat
    /// Append or replace.
    public var mode: ImportMode
    /// Where the job is.
    public var status: ImportStatus
    /// When the job was created.
    public var createdAt: Date
    /// When reading the file began.
    public var startedAt: Date?
    /// When the job succeeded or failed.
    public var finishedAt: Date?
    /// Rows read from the file so far (contacts and rejected rows; blank rows are not rows).
    public var rowsRead: Int
    /// Contacts added to the list. While the job runs: rows accepted so far, before the
    /// duplicates against the list are known.
    public var accepted: Int
    /// Rows skipped because their number is already in the list or earlier in the file.
    public var duplicates: Int
    /// Rows rejected (see the job's rejected rows for the first ones, with reasons).
    public var rejected: Int
    /// Why the job failed.
    public var error: String?
    /// A dry run: the file was read and checked, and the counts say what an import would have
    /// done (`accepted`: contacts it would have added), but no list changed.
    public var dryRun: Bool

    /// A job record.
    public init(
        id: ImportJobID, list: ContactListID, requestedBy: String, sourceName: String? = nil, format: ImportFormat,
        mode: ImportMode, status: ImportStatus = .queued, createdAt: Date, startedAt: Date? = nil,
        finishedAt: Date? = nil, rowsRead: Int = 0, accepted: Int = 0, duplicates: Int = 0, rejected: Int = 0,
        error: String? = nil, dryRun: Bool = false
    ) {
        self.dryRun = dryRun
        self.id = id
        self.list = list
        self.requestedBy = requestedBy
        self.sourceName = sourceName
        self.format = format
        self.mode = mode
        self.status = status
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.rowsRead = rowsRead
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
        self.error = error
    }
}

/// How to read an import's file.
public struct ImportOptions: Sendable, Hashable {
    /// Which columns (or JSON keys) hold what.
    public var mapping: ColumnMapping
    /// The region national numbers are read in (ISO 3166 alpha-2: "DK", "US").
    public var defaultRegion: String
    /// The CSV delimiter, or `nil` to detect it from the header.
    public var csvDelimiter: CSVDelimiter?
    /// Rows between two progress reports; also the most rows held in memory at once.
    public var progressInterval: Int
    /// The most rejected rows whose details a job keeps; the count goes on beyond.
    public var storedRejectedRows: Int
    /// The most rejected rows a report returns (the rest are in the job's history).
    public var reportedRejectedRows: Int
    /// Above this many rejected rows the import fails and the list stays as it was; `nil` for
    /// no limit.
    public var maximumRejected: RejectionLimit?

    /// Options; by default progress every 5,000 rows, 10,000 rejected rows kept, 100 returned.
    public init(
        mapping: ColumnMapping = ColumnMapping(), defaultRegion: String, csvDelimiter: CSVDelimiter? = nil,
        progressInterval: Int = 5_000, storedRejectedRows: Int = 10_000, reportedRejectedRows: Int = 100
    ) {
        self.mapping = mapping
        self.defaultRegion = defaultRegion
        self.csvDelimiter = csvDelimiter
        self.progressInterval = max(1, progressInterval)
        self.storedRejectedRows = max(0, storedRejectedRows)
        self.reportedRejectedRows = max(0, reportedRejectedRows)
    }
}

/// How many rejected rows an import tolerates before it fails as a whole: a replace of a good
/// list by a file that is mostly garbage must not leave the list with the few good rows.
public enum RejectionLimit: Hashable, Sendable, CustomStringConvertible {
    /// At most this many rejected rows.
    case count(Int)
    /// At most this percentage (0 to 100) of the rows read.
    case percent(Double)

    /// Whether `rejected` of `rowsRead` rows is over the limit.
    public func isExceeded(rejected: Int, rowsRead: Int) -> Bool {
        switch self {
        case .count(let limit): rejected > limit
        case .percent(let limit): rowsRead > 0 && Double(rejected) * 100 > limit * Double(rowsRead)
        }
    }

    /// Parses `max_rejected`: a count (`10`) or a percentage (`5%`, `0.5%`).
    public init?(_ text: String) {
        if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), value.isFinite, (0...100).contains(value) else { return nil }
            self = .percent(value)
        } else {
            guard let value = Int(text), value >= 0 else { return nil }
            self = .count(value)
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): "\(percent)%"
        }
    }
}

/// Where a running import is.
public struct ImportProgress: Hashable, Sendable, Codable {
    /// The stage of the import.
    public enum Phase: String, Hashable, Sendable, Codable {
        /// Reading the file into the job's staging area; the list is untouched.
        case reading
        /// Putting the staged contacts into the list, in one transaction.
        case applying
        /// Done; the counts are final.
        case finished
    }

    /// The job reported on.
    public var job: ImportJobID
    /// The stage of the import.
    public var phase: Phase
    /// Rows read so far.
    public var rowsRead: Int
    /// Rows accepted so far (final once ``Phase/finished``).
    public var accepted: Int
    /// Rows skipped as duplicates so far (the list's own are known once ``Phase/finished``).
    public var duplicates: Int
    /// Rows rejected so far.
    public var rejected: Int

    /// A progress report.
    public init(job: ImportJobID, phase: Phase, rowsRead: Int, accepted: Int, duplicates: Int, rejected: Int) {
        self.job = job
        self.phase = phase
        self.rowsRead = rowsRead
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
    }
}

/// The outcome of an import: the job as history keeps it, and its first rejected rows.
public struct ImportReport: Hashable, Sendable, Codable {
    /// The finished job, with its counts.
    public var job: ImportJob
    /// The first rejected rows, by row number, at most ``ImportOptions/reportedRejectedRows``.
    public var rejectedRows: [RejectedRow]

    /// A report.
    public init(job: ImportJob, rejectedRows: [RejectedRow]) {
        self.job = job
        self.rejectedRows = rejectedRows
    }
}
