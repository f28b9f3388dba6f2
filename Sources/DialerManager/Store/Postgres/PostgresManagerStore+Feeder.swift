public import DialerCore
public import FoundationEssentials

// The feeder's side of the store: hand-outs, results, lost nodes, inbound calls; as
// SQLiteManagerStore+Feeder, +Cluster and +Inbound (batches: PostgresManagerStore+Batch).

extension PostgresManagerStore {
    public func checkOutAttempts(
        campaign id: CampaignID, count: Int, node: MemberID, epoch: Epoch, now: Date, presentAgents: Set<AgentID>
    ) async throws -> [AttemptHandOut] {
        try await write { db in
            try await Self.checkOut(
                db, campaign: id, count: count, node: node, epoch: epoch, now: now, presentAgents: presentAgents)
        }
    }

    /// Hands out attempts in `db`. The contacts chosen are locked `FOR UPDATE SKIP LOCKED` as
    /// they are read: another manager's hand-out running at the same time skips them, and the
    /// state guard of the `UPDATE` holds against one that committed in between.
    static func checkOut(
        _ db: PGSession, campaign id: CampaignID, count: Int, node: MemberID, epoch: Epoch, now: Date,
        presentAgents: Set<AgentID>, known: Campaign? = nil
    ) async throws -> [AttemptHandOut] {
        // A batch passes the campaign it has read already: nothing in a batch changes one.
        var campaign = known?.id == id ? known : nil
        if campaign == nil { campaign = try await PGCampaigns.fetch(db, id) }
        guard let campaign else { throw StoreError.notFound("campaign \(id)") }
        guard count > 0 else { return [] }
        let chosen = try await PGFeederQuery.choose(
            db, campaign: campaign, count: count, now: now, presentAgents: presentAgents)
        guard !chosen.isEmpty else { return [] }
        var handOuts: [AttemptHandOut] = []
        for var contact in chosen {
            let attempt = AttemptID(UUID().uuidString.lowercased())
            try contact.beginAttempt(attempt, now: now)
            handOuts.append(AttemptHandOut(attempt: attempt, contact: contact))
        }
        // One statement: the contacts into their attempts (guarded by their state), and an
        // attempt for each contact that changed, inserted in the order chosen (their `seq`).
        let changed = Set(
            try await db.query(
                """
                WITH changed AS (UPDATE contact SET \(PGContactState.assignments) FROM \(PGContactState.recordSet) \
                WHERE contact.id = v.id AND contact.state IN ('fresh', 'scheduled') RETURNING contact.id), \
                inserted AS (INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at) \
                SELECT h.id, ?, h.contact_id, ?, ?, ? \
                FROM unnest(?::TEXT[], ?::BIGINT[]) WITH ORDINALITY AS h(id, contact_id, n) \
                WHERE h.contact_id IN (SELECT id FROM changed) ORDER BY h.n) \
                SELECT id FROM changed
                """,
                [
                    try PGRecordSet(handOuts.map { PGContactState($0.contact) }), id.rawValue, node.rawValue,
                    Int64(clamping: epoch.rawValue), now.storeValue,
                    PGTextArray(values: handOuts.map(\.attempt.rawValue)),
                    PGInt64Array(values: handOuts.map { ContactKey.rowID($0.contact.id) ?? -1 }),
                ]
            ).map { try $0.int64("id") })
        // (The transaction, or the batch's savepoint, undoes what the statement wrote.)
        if let changedUnder = handOuts.first(where: { !changed.contains(ContactKey.rowID($0.contact.id) ?? -1) }) {
            throw StoreError.conflict("contact \(changedUnder.contact.id) changed under the feeder")
        }
        return handOuts
    }

    public func recordResult(_ result: AttemptResult, now: Date) async throws -> LedgerUpdate {
        try await write { db in try await Self.apply(db, result: result, now: now) }
    }

    public func recordDisposition(
        _ disposition: Disposition, attempt: AttemptID, agent: AgentID?, nodeLost: Bool, now: Date
    ) async throws -> LedgerUpdate {
        try await write { db in
            guard
                let row = try await db.fetchOne("SELECT * FROM attempt WHERE id = ? FOR UPDATE", [attempt.rawValue]),
                var contact = try await PGContacts.fetch(db, rowID: try row.int64("contact_id")),
                let campaign = try await PGCampaigns.fetch(db, CampaignID(try row.string("campaign_id")))
            else { return .unknownAttempt }
            guard let outcome = try row.optionalString("outcome") else {
                guard nodeLost else { return .attemptStillOpen }
                guard try row.optionalString("disposition") == nil else { return .duplicate }
                try await db.execute(
                    """
                    UPDATE attempt SET disposition = ?, disposition_name = ?, disposition_at = ?, \
                    agent = COALESCE(agent, ?), node_lost_on_call = 1 WHERE id = ?
                    """,
                    [
                        try AttemptColumns.dispositionJSON(disposition), disposition.name, now.storeValue,
                        agent?.rawValue, attempt.rawValue,
                    ])
                return .applied(contact)
            }
            if outcome == AttemptOutcome.unknown.rawValue {
                try await db.execute("UPDATE attempt SET node_lost_on_call = 1 WHERE id = ?", [attempt.rawValue])
            }
            guard try row.optionalString("disposition") == nil,
                case .applied = contact.applyDisposition(
                    disposition, attempt: attempt, settings: campaign.settings, now: now)
            else { return .duplicate }
            try await db.execute(
                """
                UPDATE attempt SET disposition = ?, disposition_name = ?, disposition_at = ?, \
                agent = COALESCE(agent, ?) WHERE id = ?
                """,
                [
                    try AttemptColumns.dispositionJSON(disposition), disposition.name, now.storeValue, agent?.rawValue,
                    attempt.rawValue,
                ])
            try await PGContacts.saveState(db, contact)
            return .applied(contact)
        }
    }

    public func closeAttemptsOfLostNode(_ node: MemberID, now: Date) async throws -> [AttemptID] {
        try await closeAttempts(
            "SELECT id, contact_id FROM attempt WHERE node = ? AND outcome IS NULL ORDER BY id", [node.rawValue],
            now: now)
    }

    public func closeAttemptsOfLostNode(_ node: MemberID, handedOutThrough cutoff: Date, now: Date) async throws
        -> [AttemptID]
    {
        try await closeAttempts(
            "SELECT id, contact_id FROM attempt WHERE node = ? AND outcome IS NULL AND started_at <= ? ORDER BY id",
            [node.rawValue, cutoff.storeValue], now: now)
    }

    /// Closes the open attempts `sql` selects as `unknown`: each contact is retried after the
    /// retry interval, never at once.
    private func closeAttempts(_ sql: String, _ arguments: [(any PGArgument)?], now: Date) async throws -> [AttemptID] {
        try await write { db in
            var closed: [AttemptID] = []
            for row in try await db.query(sql, arguments) {
                let attempt = AttemptID(try row.string("id"))
                let result = AttemptResult(
                    attempt: attempt, contact: ContactKey.id(try row.int64("contact_id")), outcome: .unknown)
                _ = try await Self.apply(db, result: result, now: now)
                closed.append(attempt)
            }
            return closed
        }
    }

    public func attempt(_ id: AttemptID) async throws -> AttemptRecord? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM attempt WHERE id = ?", [id.rawValue]).map(PGAttempts.record)
        }
    }

    public func openAttempts(campaign: CampaignID?) async throws -> [AttemptRecord] {
        try await read { db in
            try await db.query(
                """
                SELECT * FROM attempt WHERE outcome IS NULL AND (?::TEXT IS NULL OR campaign_id = ?::TEXT) \
                ORDER BY started_at, id
                """,
                [campaign?.rawValue, campaign?.rawValue]
            ).map(PGAttempts.record)
        }
    }

    public func attempts(ofContact contact: ContactID) async throws -> [ContactAttempt] {
        guard let rowID = ContactKey.rowID(contact) else { return [] }
        return try await read { db in
            try await db.query("SELECT * FROM attempt WHERE contact_id = ? ORDER BY started_at, id", [rowID]).map {
                row in
                ContactAttempt(
                    campaign: CampaignID(try row.string("campaign_id")), record: try PGAttempts.record(row),
                    dispositionAt: try row.date("disposition_at"))
            }
        }
    }

    /// Applies a result in `db`, as ``SQLiteManagerStore``'s `apply(_:result:now:campaigns:)`.
    /// The attempt's row is locked first, so that two managers applying one result at once
    /// apply it once.
    static func apply(
        _ db: PGSession, result: AttemptResult, now: Date, campaigns: [CampaignID: Campaign] = [:]
    ) async throws -> LedgerUpdate {
        guard
            let row = try await db.fetchOne("SELECT * FROM attempt WHERE id = ? FOR UPDATE", [result.attempt.rawValue])
        else { return .unknownAttempt }
        let contactRowID = try row.int64("contact_id")
        guard ContactKey.rowID(result.contact) == contactRowID else { return .unknownAttempt }
        guard try row.optionalString("outcome") == nil else { return .duplicate }
        let details = result.withoutInvalidCallDetails()
        var result = result
        var dispositionAt = result.disposition == nil ? nil : now
        if result.disposition == nil, let pending = try row.optionalString("disposition") {
            result.disposition = try JSONDecoder().decode(Disposition.self, from: Data(pending.utf8))
            dispositionAt = try row.date("disposition_at") ?? now
        }
        if result.agent == nil { result.agent = try row.optionalString("agent").map(AgentID.init) }
        let markedLost = try row.flag("node_lost_on_call")
        let nodeLostOnCall = result.outcome == .unknown && markedLost
        try await db.execute(
            """
            UPDATE attempt SET ended_at = ?, answered_at = ?, outcome = ?, disposition = ?, disposition_name = ?, \
            disposition_at = ?, agent = ?, dialed_at = ?, bridged_at = ?, call_ended_at = ?, caller_id = ?, \
            abandon_cause = ?, node_lost_on_call = ? WHERE id = ?
            """,
            [
                now.storeValue, details.answeredAt.storeValue, result.outcome.rawValue,
                try AttemptColumns.dispositionJSON(result.disposition), result.disposition?.name,
                dispositionAt?.storeValue, result.agent?.rawValue, details.dialedAt.storeValue,
                details.bridgedAt.storeValue, details.callEndedAt.storeValue, details.callerID,
                result.outcome == .abandoned ? result.abandonCause?.rawValue : nil, nodeLostOnCall,
                result.attempt.rawValue,
            ])
        let campaignID = CampaignID(try row.string("campaign_id"))
        guard var contact = try await PGContacts.fetch(db, rowID: contactRowID) else { return .unknownAttempt }
        var campaign = campaigns[campaignID]
        if campaign == nil { campaign = try await PGCampaigns.fetch(db, campaignID) }
        guard let campaign else { return .unknownAttempt }
        result.contact = contact.id
        if case .applied = contact.applyResult(result, settings: campaign.settings, now: now) {
            try await PGContacts.saveState(db, contact)
        }
        return .applied(contact)
    }

    /// Inserts an open attempt without any check but the database's own, for the test that the
    /// schema refuses a second open attempt of a contact.
    func insertOpenAttemptForTesting(id: String, campaign: CampaignID, contact: ContactID) async throws {
        try await write { db in
            try await db.execute(
                "INSERT INTO attempt (id, campaign_id, contact_id, started_at) VALUES (?, ?, ?, 0)",
                [id, campaign.rawValue, ContactKey.rowID(contact)])
        }
    }

    // MARK: Cluster additions

    public func campaign(dialing queue: QueueID) async throws -> Campaign? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM campaign WHERE queue_id = ?", [queue.rawValue])
                .map(PGCampaigns.campaign)
        }
    }

    public func attemptHolder(_ id: AttemptID) async throws -> AttemptHolder? {
        try await read { db in try await Self.holder(db, of: id) }
    }

    static func holder(_ db: PGSession, of id: AttemptID) async throws -> AttemptHolder? {
        try await db.fetchOne(
            "SELECT id, campaign_id, contact_id, node, epoch, outcome FROM attempt WHERE id = ?", [id.rawValue]
        ).map { try holder($0, of: id) }
    }

    public func nodesWithOpenAttempts() async throws -> Set<MemberID> {
        try await read { db in
            Set(
                try await db.query(
                    "SELECT DISTINCT node FROM attempt WHERE outcome IS NULL AND node IS NOT NULL"
                ).map { MemberID(try $0.string("node")) })
        }
    }

    // MARK: Inbound calls

    public func routeInboundCall(
        from caller: String, hotline: CampaignID?, node: MemberID, epoch: Epoch, now: Date
    ) async throws -> InboundRouting {
        try await write { db in
            if let row = try await db.fetchOne(
                """
                SELECT contact.id AS contact_row, campaign.id AS campaign_id FROM contact \
                JOIN campaign ON campaign.list_id = contact.list_id \
                WHERE contact.phone = ? AND contact.state <> 'final' \
                ORDER BY contact.state = 'inAttempt', contact.id LIMIT 1 FOR UPDATE OF contact
                """,
                [caller])
            {
                guard let campaign = try await PGCampaigns.fetch(db, CampaignID(try row.string("campaign_id"))),
                    let contact = try await PGContacts.fetch(db, rowID: try row.int64("contact_row"))
                else { throw StoreError.conflict("contact of caller \(caller) changed during the lookup") }
                let handOut = try await Self.beginInboundAttempt(
                    db, contact, campaign: campaign, node: node, epoch: epoch, now: now)
                return .openContact(campaign: campaign, handOut: handOut, contact: contact)
            }
            guard let hotline, let campaign = try await PGCampaigns.fetch(db, hotline) else { return .service }
            let contact: Contact
            if let existing = try await db.fetchOne(
                "SELECT id FROM contact WHERE list_id = ? AND phone = ?", [campaign.list.rawValue, caller])
            {
                guard let closed = try await PGContacts.fetch(db, rowID: try existing.int64("id")) else {
                    throw StoreError.conflict("contact of caller \(caller) changed during the lookup")
                }
                return .hotline(campaign: campaign, handOut: nil, contact: closed)
            } else {
                guard
                    let inserted = try await db.fetchOne(
                        """
                        INSERT INTO contact (list_id, phone, fields, state, waiting_since, created_at, updated_at) \
                        VALUES (?, ?, '{"source":"hotline"}', 'fresh', ?, ?, ?) RETURNING id
                        """,
                        [campaign.list.rawValue, caller, now.storeValue, now.storeValue, now.storeValue]),
                    let created = try await PGContacts.fetch(db, rowID: try inserted.int64("id"))
                else { throw StoreError.conflict("the hotline contact of \(caller) vanished") }
                contact = created
            }
            let handOut = try await Self.beginInboundAttempt(
                db, contact, campaign: campaign, node: node, epoch: epoch, now: now)
            return .hotline(campaign: campaign, handOut: handOut, contact: contact)
        }
    }

    private static func beginInboundAttempt(
        _ db: PGSession, _ contact: Contact, campaign: Campaign, node: MemberID, epoch: Epoch, now: Date
    ) async throws -> AttemptHandOut? {
        var contact = contact
        let attempt = AttemptID(UUID().uuidString.lowercased())
        do {
            try contact.beginAttempt(attempt, now: now)
        } catch {
            return nil
        }
        try await PGContacts.saveState(db, contact)
        try await db.execute(
            "INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                attempt.rawValue, campaign.id.rawValue, ContactKey.rowID(contact.id), node.rawValue,
                Int64(clamping: epoch.rawValue), now.storeValue,
            ])
        return AttemptHandOut(attempt: attempt, contact: contact)
    }

    public func returnAttempt(_ attempt: AttemptID, node: MemberID, epoch: Epoch, now: Date) async throws
        -> AttemptReturnResult
    {
        try await write { db in
            guard
                let row = try await db.fetchOne(
                    "SELECT contact_id, node, epoch, outcome, started_at FROM attempt WHERE id = ? FOR UPDATE",
                    [attempt.rawValue])
            else { return .notHeld }
            guard try row.optionalString("node") == node.rawValue,
                try row.optionalInt64("epoch") == Int64(clamping: epoch.rawValue)
            else { return .heldElsewhere }
            guard try row.optionalString("outcome") == nil else { return .alreadyClosed }
            let contactRow = try row.int64("contact_id")
            guard var contact = try await PGContacts.fetch(db, rowID: contactRow) else { return .notHeld }
            let previous = try await db.fetchOne(
                """
                SELECT id, started_at, disposition_name FROM attempt WHERE contact_id = ? AND id <> ? \
                ORDER BY started_at DESC, id DESC LIMIT 1
                """,
                [contactRow, attempt.rawValue]
            ).map {
                (
                    attempt: AttemptID(try $0.string("id")), at: try $0.date("started_at") ?? now,
                    disposition: try $0.optionalString("disposition_name")
                )
            }
            let handedOutAt = try row.date("started_at") ?? now
            guard contact.returnAttempt(attempt, handedOutAt: handedOutAt, previous: previous) else {
                return .alreadyClosed
            }
            contact.updatedAt = now
            try await PGContacts.saveState(db, contact)
            try await db.execute("DELETE FROM attempt WHERE id = ?", [attempt.rawValue])
            return .returned
        }
    }
}
