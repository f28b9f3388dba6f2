public import DialerCore
public import FoundationEssentials

/// The manager's persistent state, behind one interface: the embedded SQLite store is the
/// default, and a PostgreSQL implementation can fill the same protocol. Nothing outside the
/// store touches the database.
public protocol ManagerStore: AttemptReportStore, WebhookStore, FeederBatchStore {
    // MARK: API tokens

    /// Stores a new token (only its hash) and returns its record.
    func createToken(name: String, role: APIRole, tokenHash: String, at: Date) async throws -> APITokenRecord
    /// The token with this hash, if it exists and is not revoked.
    func token(withHash hash: String) async throws -> APITokenRecord?
    func listTokens() async throws -> [APITokenRecord]
    /// Revokes a token; returns whether it existed.
    func revokeToken(id: Int64) async throws -> Bool
    func tokenCount() async throws -> Int

    // MARK: Contact lists

    /// Creates an empty list.
    ///
    /// - Throws: ``StoreError/alreadyExists(_:)`` when the id is taken.
    func createList(id: ContactListID, name: String, description: String, now: Date) async throws -> ContactList
    /// Renames a list or changes its description.
    ///
    /// - Throws: ``StoreError/notFound(_:)``.
    func updateList(id: ContactListID, name: String, description: String, now: Date) async throws -> ContactList
    /// Deletes a list with its contacts and import history; `false` when there is no such list.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` when a campaign dials the list.
    func deleteList(_ id: ContactListID) async throws -> Bool
    /// The list with this id, with its contact count and campaign.
    func list(_ id: ContactListID) async throws -> ContactList?
    /// Every list, by id.
    func lists() async throws -> [ContactList]

    // MARK: Campaigns

    /// Stores a new campaign, after validating its settings.
    ///
    /// - Throws: ``StoreError/invalidSettings(_:)``; ``StoreError/notFound(_:)`` for a missing
    ///   list; ``StoreError/alreadyExists(_:)`` for a taken id, or a list or queue another
    ///   campaign has (a list and a queue belong to one campaign).
    func createCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign
    /// Replaces a campaign's name, description, list, queue and settings.
    ///
    /// - Throws: as ``createCampaign(_:now:)``, ``StoreError/notFound(_:)`` for a missing
    ///   campaign, and ``StoreError/conflict(_:)`` when the list changes while attempts are open.
    func updateCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign
    /// Sets a campaign's status (start, stop, automatic); `nil` when there is no such campaign.
    func setCampaignStatus(_ id: CampaignID, to status: CampaignStatus, now: Date) async throws -> Campaign?
    /// Deletes a campaign with its attempts, dispositions and campaign DNC numbers (its list
    /// stays); `false` when there is no such campaign.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` while attempts are open.
    func deleteCampaign(_ id: CampaignID) async throws -> Bool
    /// The campaign with this id.
    func campaign(_ id: CampaignID) async throws -> Campaign?
    /// Every campaign, by id.
    func campaigns() async throws -> [Campaign]

    // MARK: Contacts

    /// Adds one fresh contact to a list, its number normalised to E.164 in `defaultRegion`.
    ///
    /// - Throws: ``StoreError/invalid(_:)`` for a bad number, caller ID or time zone;
    ///   ``StoreError/alreadyExists(_:)`` when the number is in the list;
    ///   ``StoreError/notFound(_:)`` for a missing list.
    func addContact(to list: ContactListID, _ draft: ContactDraft, defaultRegion: String, now: Date) async throws
        -> Contact
    /// The contact with this id.
    func contact(_ id: ContactID) async throws -> Contact?
    /// Replaces a contact's number, time zone, caller ID, priority and fields; its state and
    /// counters stay.
    ///
    /// - Throws: as ``addContact(to:_:defaultRegion:now:)``, and ``StoreError/conflict(_:)``
    ///   while the contact is in an open attempt.
    func updateContact(_ id: ContactID, _ draft: ContactDraft, defaultRegion: String, now: Date) async throws
        -> Contact
    /// Deletes a contact; `false` when there is no such contact. Its attempts stay in the
    /// campaign's history.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` while the contact is in an open attempt.
    func deleteContact(_ id: ContactID) async throws -> Bool
    /// The contacts matching `filter` after the contact `after`, in id order, at most `limit`.
    func searchContacts(_ filter: ContactFilter, after: ContactID?, limit: Int) async throws -> ContactPage
    /// How many contacts match `filter`.
    func countContacts(_ filter: ContactFilter) async throws -> Int
    /// Resets one contact's attempt counter (``Contact/resetAttempts(now:)``); `nil` when there
    /// is no such contact, else whether it changed (a contact in an open attempt does not).
    func resetAttempts(of id: ContactID, now: Date) async throws -> Bool?
    /// Resets the attempt counters of every contact matching `filter` (all of a campaign's with
    /// a filter naming only the campaign), by the rule of ``Contact/resetAttempts(now:)``.
    func resetAttempts(matching filter: ContactFilter, now: Date) async throws -> AttemptReset

    // MARK: Do not call

    /// Adds a number (normalised in `defaultRegion`); `false` when it was already listed there.
    func addDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String, note: String?, now: Date)
        async throws -> Bool
    /// Removes a number from one scope; `false` when it was not listed there.
    func removeDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String) async throws -> Bool
    /// Whether a number may not be called by `campaign` (listed globally or for the campaign), or
    /// with `campaign` nil, whether it is listed globally.
    func isDoNotCall(_ phone: String, campaign: CampaignID?, defaultRegion: String) async throws -> Bool
    /// The numbers of one scope, by number, after `after`, at most `limit`.
    func doNotCallEntries(scope: DoNotCallScope, after: String?, limit: Int) async throws -> [DoNotCallEntry]
    /// Adds every number of a file (CSV with a header, or a JSON array, the number in the
    /// mapping's phone column) to a scope, streaming. Numbers are added batch by batch as they
    /// are read: a number blocked early is never harmful, so a failed import keeps what it added.
    func importDoNotCall<Source: AsyncSequence>(
        scope: DoNotCallScope, format: ImportFormat, options: ImportOptions, from source: Source, now: Date
    ) async throws -> DoNotCallImportReport where Source.Element: Collection, Source.Element.Element == UInt8

    // MARK: Dispositions

    /// Adds a disposition to a campaign.
    ///
    /// - Throws: ``StoreError/alreadyExists(_:)`` for a taken name; ``StoreError/notFound(_:)``.
    func createDisposition(_ definition: DispositionDefinition, campaign: CampaignID) async throws
    /// Replaces the disposition called `name` (which may be renamed); `false` when there is none.
    func updateDisposition(named name: String, campaign: CampaignID, to definition: DispositionDefinition)
        async throws -> Bool
    /// Removes a disposition; `false` when there is none. Recorded attempts keep its name.
    func deleteDisposition(named name: String, campaign: CampaignID) async throws -> Bool
    /// A campaign's dispositions, in the order they were created.
    func dispositions(of campaign: CampaignID) async throws -> [DispositionDefinition]

    // MARK: Agents and teams

    /// Stores a new agent with a password (kept only as a salted slow hash).
    ///
    /// - Throws: ``StoreError/alreadyExists(_:)`` for a taken id or login;
    ///   ``StoreError/notFound(_:)`` for a missing team.
    func createAgent(_ profile: AgentProfile, password: String, now: Date) async throws -> AgentRecord
    /// Replaces an agent's profile (login, name, team, skills).
    ///
    /// - Throws: ``StoreError/notFound(_:)``; ``StoreError/alreadyExists(_:)`` for a taken login.
    func updateAgent(_ profile: AgentProfile, now: Date) async throws -> AgentRecord
    /// Sets a new password; `false` when there is no such agent.
    func setAgentPassword(_ id: AgentID, password: String, now: Date) async throws -> Bool
    /// Deletes an agent; `false` when there is no such agent.
    func deleteAgent(_ id: AgentID) async throws -> Bool
    /// The agent with this id.
    func agent(_ id: AgentID) async throws -> AgentRecord?
    /// Every agent, by id.
    func agents() async throws -> [AgentRecord]
    /// The agent with this login and password, or `nil` (the same for an unknown login and a
    /// wrong password, and in about the same time).
    func authenticateAgent(login: String, password: String) async throws -> AgentRecord?
    /// The queues an agent may serve with their ranks: the team's ranking, overridden queue by
    /// queue by the agent's own skills. `nil` when there is no such agent.
    func effectiveSkills(of id: AgentID) async throws -> AgentSkills?
    /// Stores a new team.
    ///
    /// - Throws: ``StoreError/alreadyExists(_:)``.
    func createTeam(_ team: Team, now: Date) async throws
    /// Replaces a team's name and ranking; `false` when there is no such team.
    func updateTeam(_ team: Team, now: Date) async throws -> Bool
    /// Deletes a team; its agents stay, without a team. `false` when there is no such team.
    func deleteTeam(_ id: TeamID) async throws -> Bool
    /// The team with this id.
    func team(_ id: TeamID) async throws -> Team?
    /// Every team, by id.
    func teams() async throws -> [Team]
    /// The agents of a team, by id.
    func members(of team: TeamID) async throws -> [AgentID]

    // MARK: The feeder

    /// Hands out up to `count` of the campaign's contacts dialable at `now` to `node`, best first,
    /// each as a new attempt, in one transaction.
    ///
    /// The choice is ``FeederSelection``'s, over candidates SQL reads in the same order; each
    /// contact chosen goes through ``Contact/beginAttempt(_:now:)``. A contact is never in two
    /// open attempts (a unique index on open attempts holds that too). DNC numbers are never
    /// handed out.
    ///
    /// - Parameter presentAgents: the agents logged in to the campaign's queue: a private
    ///   callback is handed out only while its agent is among them.
    /// - Throws: ``StoreError/notFound(_:)`` for a missing campaign.
    func checkOutAttempts(
        campaign: CampaignID, count: Int, node: MemberID, epoch: Epoch, now: Date, presentAgents: Set<AgentID>
    ) async throws -> [AttemptHandOut]
    /// Applies an attempt's result (``Contact/applyResult(_:settings:now:)``), once: a repeated
    /// result is ``LedgerUpdate/duplicate`` and changes nothing.
    func recordResult(_ result: AttemptResult, now: Date) async throws -> LedgerUpdate
    /// Applies a disposition recorded after its attempt's result
    /// (``Contact/applyDisposition(_:attempt:settings:now:)``), once.
    ///
    /// With `nodeLost` (the gateway ended the call because its node was lost), the attempt is
    /// marked ``AttemptRecord/nodeLostOnCall``, and a disposition for an attempt still open is
    /// kept and applied with the result that closes it (the lost-node sweep's `unknown`), so
    /// that a final disposition keeps the contact from being called again. A disposition for an
    /// attempt closed `unknown` marks it too: only an agent connected to the call can send one.
    func recordDisposition(
        _ disposition: Disposition, attempt: AttemptID, agent: AgentID?, nodeLost: Bool, now: Date
    ) async throws -> LedgerUpdate
    /// Closes every open attempt of a lost node as ``AttemptOutcome/unknown``: each contact is
    /// retried after the retry interval, never at once. Returns the attempts closed, by id.
    func closeAttemptsOfLostNode(_ node: MemberID, now: Date) async throws -> [AttemptID]
    /// Routes an inbound call from `caller` (E.164): to the outbound campaign the caller is an
    /// open contact of, else to the `hotline` campaign (creating the contact), else to the line's
    /// service queue. A campaign routing opens an attempt on the contact, handed to `node` under
    /// `epoch` (the lease of the queue the call arrived on), when the contact is not in one.
    func routeInboundCall(from caller: String, hotline: CampaignID?, node: MemberID, epoch: Epoch, now: Date)
        async throws -> InboundRouting
    /// Takes back an attempt `node` was handed under `epoch` and never dialed
    /// (``Contact/returnAttempt(_:handedOutAt:previous:)``); idempotent.
    func returnAttempt(_ attempt: AttemptID, node: MemberID, epoch: Epoch, now: Date) async throws
        -> AttemptReturnResult
    /// The attempt with this id, open or closed.
    func attempt(_ id: AttemptID) async throws -> AttemptRecord?
    /// The attempts without a result, oldest first; of one campaign when given.
    func openAttempts(campaign: CampaignID?) async throws -> [AttemptRecord]
    /// Every attempt of the contact, open and closed, oldest hand-out first; empty for a contact
    /// with none. Attempts outlive their contact, so a deleted contact's id still has a history.
    func attempts(ofContact contact: ContactID) async throws -> [ContactAttempt]

    // MARK: Statistics and "why not dialable"

    /// The campaign's figures at `now` (``CampaignReport``); `nil` when there is no such campaign.
    func campaignReport(_ id: CampaignID, now: Date) async throws -> CampaignReport?
    /// Why the campaign's contacts are or are not dialable at `now`, counted.
    func campaignSummary(_ id: CampaignID, now: Date, presentAgents: Set<AgentID>) async throws -> CampaignSummary?
    /// Why one contact is or is not dialable at `now`; `nil` when there is no such contact.
    /// A contact of a list no campaign dials is not dialable and has no verdict: `nil`.
    func dialability(of id: ContactID, now: Date, presentAgents: Set<AgentID>) async throws -> ContactDialability?

    // MARK: Imports

    /// Marks import jobs left queued or running by a manager that stopped as failed, and drops
    /// their staged rows. A store does it when it opens, unless told not to (standby managers
    /// share the database, and one opening it must not fail the active manager's imports: the
    /// manager that becomes active does it then).
    func abandonInterruptedImports() async throws

    /// Records a new import job (queued) into a list.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` for a missing list.
    func createImportJob(
        list: ContactListID, format: ImportFormat, mode: ImportMode, requestedBy: String, sourceName: String?,
        dryRun: Bool
    ) async throws -> ImportJob
    /// Runs a queued import job: streams the file from `source`, normalises the numbers, skips
    /// duplicates, records rejected rows, and reports progress every
    /// ``ImportOptions/progressInterval`` rows. All or nothing: when the import fails (a header
    /// that does not fit, a file that is not a JSON array, an I/O error, cancellation) the list is
    /// exactly as it was, in replace mode too; the job is marked failed and the error rethrown
    /// (``StoreError/importFailed(job:reason:)`` for the file's own errors).
    func importContacts<Source: AsyncSequence>(
        job: ImportJobID, options: ImportOptions, from source: Source,
        progress: @escaping @Sendable (ImportProgress) -> Void
    ) async throws -> ImportReport where Source.Element: Collection, Source.Element.Element == UInt8
    /// The import job with this id: its status and counts, live while it runs.
    func importJob(_ id: ImportJobID) async throws -> ImportJob?
    /// A list's import history, newest first, at most `limit`.
    func importJobs(list: ContactListID, limit: Int) async throws -> [ImportJob]
    /// A job's rejected rows after row `afterRow`, by row, at most `limit`.
    func rejectedRows(of job: ImportJobID, afterRow: Int, limit: Int) async throws -> [RejectedRow]

    // MARK: Cluster additions

    /// The campaign that dials `queue`, if one does (a queue belongs to at most one campaign).
    func campaign(dialing queue: QueueID) async throws -> Campaign?
    /// Whom an attempt was handed to and how it ended; `nil` when there is no such attempt.
    func attemptHolder(_ id: AttemptID) async throws -> AttemptHolder?
    /// The nodes that hold open attempts (a restarted manager must account for them).
    func nodesWithOpenAttempts() async throws -> Set<MemberID>
    /// Closes, as ``closeAttemptsOfLostNode(_:now:)`` does, the open attempts of a lost node
    /// that were handed out at or before `cutoff`: an attempt handed out later went to a newer
    /// connection of the same node, which may still report it.
    func closeAttemptsOfLostNode(_ node: MemberID, handedOutThrough cutoff: Date, now: Date) async throws
        -> [AttemptID]
}

extension ManagerStore {
    /// Applies a disposition recorded after its attempt's result, from a call whose node was not
    /// lost (see ``recordDisposition(_:attempt:agent:nodeLost:now:)``).
    public func recordDisposition(_ disposition: Disposition, attempt: AttemptID, agent: AgentID?, now: Date)
        async throws -> LedgerUpdate
    {
        try await recordDisposition(disposition, attempt: attempt, agent: agent, nodeLost: false, now: now)
    }

    /// Creates an import job that changes its list (not a dry run).
    public func createImportJob(
        list: ContactListID, format: ImportFormat, mode: ImportMode, requestedBy: String, sourceName: String?
    ) async throws -> ImportJob {
        try await createImportJob(
            list: list, format: format, mode: mode, requestedBy: requestedBy, sourceName: sourceName, dryRun: false)
    }

    /// Creates an import job and runs it (see ``importContacts(job:options:from:progress:)``).
    public func importContacts<Source: AsyncSequence>(
        into list: ContactListID, format: ImportFormat, mode: ImportMode, options: ImportOptions,
        requestedBy: String, sourceName: String? = nil, from source: Source,
        progress: @escaping @Sendable (ImportProgress) -> Void = { _ in }
    ) async throws -> ImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        let job = try await createImportJob(
            list: list, format: format, mode: mode, requestedBy: requestedBy, sourceName: sourceName, dryRun: false)
        return try await importContacts(job: job.id, options: options, from: source, progress: progress)
    }
}

/// What an API token may do. Each role may do everything the ones below it may.
public enum APIRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Reads: campaigns, lists, statistics, the cluster table.
    case readOnly = "read-only"
    /// Runs operations: start and stop campaigns, drain nodes, import lists.
    case supervisor
    /// Everything, including tokens and agents.
    case admin

    private var level: Int {
        switch self {
        case .readOnly: return 0
        case .supervisor: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.level < rhs.level }
}

/// A stored API token: never the token itself, only its hash.
public struct APITokenRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: APIRole
    public var createdAt: Date

    public init(id: Int64, name: String, role: APIRole, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}
