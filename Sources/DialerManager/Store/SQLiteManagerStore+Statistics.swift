public import DialerCore
public import FoundationEssentials
import GRDB

// Statistics and "why not dialable": the domain's aggregates, fed row by row from SQL cursors in
// one read transaction (a consistent snapshot that never waits for the writer), so that a
// campaign of a million contacts is read in bounded memory.

extension SQLiteManagerStore {
    public func campaignReport(_ id: CampaignID, now: Date) async throws -> CampaignReport? {
        try await pool.read { db in
            guard let campaign = try CampaignColumns.fetch(db, id) else { return nil }
            // The contacts are counted by SQLite, in groups: a report of a large list is polled
            // (the live panel, the load tester), and decoding each of 200,000 contacts took a
            // fifth of the manager's CPU in a 10,000-agent run (BENCHMARKS.md).
            var tally = ContactTally()
            let groups = try Row.fetchCursor(db, sql: ContactColumns.tallyByList, arguments: [campaign.list.rawValue])
            while let group = try groups.next() {
                try ContactColumns.tally(
                    &tally, state: group["state"], finalReason: group["final_reason"],
                    lastOutcome: group["last_outcome"], lastDisposition: group["last_disposition"],
                    count: group["contacts"])
            }
            let attempts = RowStream(
                try Row.fetchCursor(db, sql: "SELECT * FROM attempt WHERE campaign_id = ?", arguments: [id.rawValue]),
                transform: AttemptColumns.record)
            let report = CampaignReport(contacts: tally, attempts: attempts, now: now)
            try attempts.check()
            return report
        }
    }

    public func campaignSummary(_ id: CampaignID, now: Date, presentAgents: Set<AgentID>) async throws
        -> CampaignSummary?
    {
        try await pool.read { db in
            guard let campaign = try CampaignColumns.fetch(db, id) else { return nil }
            // The list's blocked numbers in one statement, not two lookups per contact: the
            // lookups were most of the summary's time on a list of 200,000.
            let dnc = DoNotCallList(
                Set(
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT DISTINCT contact.phone FROM contact WHERE contact.list_id = :list AND (
                            EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id IS NULL AND dnc.phone = contact.phone)
                            OR EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id = :campaign AND dnc.phone = contact.phone))
                            """,
                        arguments: ["list": campaign.list.rawValue, "campaign": id.rawValue])))
            let contacts = RowStream(
                try Row.fetchCursor(
                    db, sql: "SELECT \(ContactColumns.select) FROM contact WHERE contact.list_id = ?",
                    arguments: [campaign.list.rawValue])
            ) { try ContactColumns.contact($0, withFields: false) }
            let summary = CampaignSummary(
                contacts: contacts, campaign: campaign.settings, dnc: dnc, now: now,
                privateAgentPresent: { presentAgents.contains($0) })
            try contacts.check()
            return summary
        }
    }

    public func dialability(of id: ContactID, now: Date, presentAgents: Set<AgentID>) async throws
        -> ContactDialability?
    {
        try await pool.read { db in
            guard let contact = try ContactColumns.fetch(db, id: id),
                let campaign = try CampaignColumns.fetch(db, contact.campaign)
            else { return nil }
            let dnc = try StoredDoNotCall(db, campaign: campaign.id)
            let present = { (agent: AgentID) in presentAgents.contains(agent) }
            let verdict = Dialability.evaluate(
                contact: contact, campaign: campaign.settings, dnc: dnc, now: now, privateAgentPresent: present)
            let earliest = Dialability.earliestDialable(
                contact: contact, campaign: campaign.settings, dnc: dnc, now: now, privateAgentPresent: present)
            try dnc.check()
            return ContactDialability(contact: contact, verdict: verdict, earliestDialable: earliest)
        }
    }
}
