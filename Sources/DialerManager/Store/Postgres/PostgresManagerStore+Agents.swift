public import DialerCore
public import FoundationEssentials

// Agents, teams, do-not-call numbers and dispositions, as SQLiteManagerStore+Agents and
// +DoNotCall.

extension PostgresManagerStore {
    public func createAgent(_ profile: AgentProfile, password: String, now: Date) async throws -> AgentRecord {
        let passwords = self.passwords
        let hash = try await PasswordWork.shared.run { try passwords.hash(password) }
        return try await write { db in
            guard try await !db.exists("SELECT 1 FROM agent WHERE id = ?", [profile.id.rawValue]) else {
                throw StoreError.alreadyExists("agent \(profile.id)")
            }
            try await Self.checkLoginAndTeam(db, profile)
            try await db.execute(
                """
                INSERT INTO agent (id, login, name, team_id, password_algorithm, password_iterations, \
                password_salt, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    profile.id.rawValue, profile.login, profile.name, profile.team?.rawValue, hash.algorithm,
                    hash.iterations, Data(hash.salt), Data(hash.hash), now.storeValue, now.storeValue,
                ])
            try await Self.saveRanks(db, table: "agent_skill", owner: "agent_id", profile.id.rawValue, profile.skills)
            guard let agent = try await Self.fetchAgent(db, profile.id) else {
                throw StoreError.notFound("agent \(profile.id)")
            }
            return agent
        }
    }

    public func updateAgent(_ profile: AgentProfile, now: Date) async throws -> AgentRecord {
        try await write { db in
            guard try await db.exists("SELECT 1 FROM agent WHERE id = ?", [profile.id.rawValue]) else {
                throw StoreError.notFound("agent \(profile.id)")
            }
            try await Self.checkLoginAndTeam(db, profile)
            try await db.execute(
                "UPDATE agent SET login = ?, name = ?, team_id = ?, updated_at = ? WHERE id = ?",
                [profile.login, profile.name, profile.team?.rawValue, now.storeValue, profile.id.rawValue])
            try await Self.saveRanks(db, table: "agent_skill", owner: "agent_id", profile.id.rawValue, profile.skills)
            guard let agent = try await Self.fetchAgent(db, profile.id) else {
                throw StoreError.notFound("agent \(profile.id)")
            }
            return agent
        }
    }

    public func setAgentPassword(_ id: AgentID, password: String, now: Date) async throws -> Bool {
        let passwords = self.passwords
        let hash = try await PasswordWork.shared.run { try passwords.hash(password) }
        return try await write { db in
            try await db.changes(
                """
                UPDATE agent SET password_algorithm = ?, password_iterations = ?, password_salt = ?, \
                password_hash = ?, updated_at = ? WHERE id = ?
                """,
                [hash.algorithm, hash.iterations, Data(hash.salt), Data(hash.hash), now.storeValue, id.rawValue]) > 0
        }
    }

    public func deleteAgent(_ id: AgentID) async throws -> Bool {
        try await write { db in try await db.changes("DELETE FROM agent WHERE id = ?", [id.rawValue]) > 0 }
    }

    public func agent(_ id: AgentID) async throws -> AgentRecord? {
        try await read { db in try await Self.fetchAgent(db, id) }
    }

    public func agents() async throws -> [AgentRecord] {
        // Two queries for the whole floor, not two per agent (the live snapshots read every agent).
        try await read { db in
            var skills: [String: [QueueID: Int]] = [:]
            for row in try await db.query("SELECT agent_id, queue_id, rank FROM agent_skill") {
                skills[try row.string("agent_id"), default: [:]][QueueID(try row.string("queue_id"))] =
                    try row.int("rank")
            }
            return try await db.query("SELECT * FROM agent ORDER BY id").map { row in
                try Self.agentRecord(row, skills: AgentSkills(skills[try row.string("id")] ?? [:]))
            }
        }
    }

    public func authenticateAgent(login: String, password: String) async throws -> AgentRecord? {
        let stored = try await read { db -> (AgentID, PasswordHash)? in
            guard
                let row = try await db.fetchOne(
                    """
                    SELECT id, password_algorithm, password_iterations, password_salt, password_hash FROM agent \
                    WHERE dialer_nocase(login) = dialer_nocase(?)
                    """,
                    [login])
            else { return nil }
            return (AgentID(try row.string("id")), try Self.passwordHash(row))
        }
        guard let (id, hash) = stored else {
            // Spend the time a real check takes, so that timing does not tell which logins exist.
            let decoy = PasswordHash(
                algorithm: PasswordHasher.algorithm, iterations: passwords.iterations,
                salt: Array(repeating: 0, count: 16), hash: Array(repeating: 0, count: PasswordHasher.hashBytes))
            _ = try await PasswordWork.shared.run { try PasswordHasher.verify(password, against: decoy) }
            return nil
        }
        guard try await PasswordWork.shared.run({ try PasswordHasher.verify(password, against: hash) }) else {
            return nil
        }
        return try await agent(id)
    }

    public func effectiveSkills(of id: AgentID) async throws -> AgentSkills? {
        try await read { db in
            guard let agent = try await Self.fetchAgent(db, id) else { return nil }
            var skills = AgentSkills()
            if let team = agent.profile.team {
                for (queue, rank) in try await Self.ranks(db, table: "team_queue_rank", owner: "team_id", team.rawValue)
                {
                    skills.setRank(rank, for: queue)
                }
            }
            for (queue, rank) in agent.profile.skills.ranks {
                skills.setRank(rank, for: queue)
            }
            return skills
        }
    }

    // MARK: Teams

    public func createTeam(_ team: Team, now: Date) async throws {
        try await write { db in
            guard try await !db.exists("SELECT 1 FROM team WHERE id = ?", [team.id.rawValue]) else {
                throw StoreError.alreadyExists("team \(team.id)")
            }
            try await db.execute(
                "INSERT INTO team (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [team.id.rawValue, team.name, now.storeValue, now.storeValue])
            try await Self.saveRanks(
                db, table: "team_queue_rank", owner: "team_id", team.id.rawValue, team.queueRanking)
        }
    }

    public func updateTeam(_ team: Team, now: Date) async throws -> Bool {
        try await write { db in
            let changed = try await db.changes(
                "UPDATE team SET name = ?, updated_at = ? WHERE id = ?", [team.name, now.storeValue, team.id.rawValue])
            guard changed > 0 else { return false }
            try await Self.saveRanks(
                db, table: "team_queue_rank", owner: "team_id", team.id.rawValue, team.queueRanking)
            return true
        }
    }

    public func deleteTeam(_ id: TeamID) async throws -> Bool {
        try await write { db in try await db.changes("DELETE FROM team WHERE id = ?", [id.rawValue]) > 0 }
    }

    public func team(_ id: TeamID) async throws -> Team? {
        try await read { db in try await Self.fetchTeam(db, id) }
    }

    public func teams() async throws -> [Team] {
        try await read { db in
            var teams: [Team] = []
            for row in try await db.query("SELECT id FROM team ORDER BY id") {
                if let team = try await Self.fetchTeam(db, TeamID(try row.string("id"))) { teams.append(team) }
            }
            return teams
        }
    }

    public func members(of team: TeamID) async throws -> [AgentID] {
        try await read { db in
            try await db.query("SELECT id FROM agent WHERE team_id = ? ORDER BY id", [team.rawValue]).map {
                AgentID(try $0.string("id"))
            }
        }
    }

    // MARK: Helpers

    private static func passwordHash(_ row: PGRow) throws -> PasswordHash {
        PasswordHash(
            algorithm: try row.string("password_algorithm"), iterations: try row.int("password_iterations"),
            salt: try row.bytes("password_salt"), hash: try row.bytes("password_hash"))
    }

    private static func checkLoginAndTeam(_ db: PGSession, _ profile: AgentProfile) async throws {
        guard !profile.login.isEmpty else { throw StoreError.invalid("an agent needs a login") }
        if try await db.exists(
            "SELECT 1 FROM agent WHERE dialer_nocase(login) = dialer_nocase(?) AND id <> ?",
            [profile.login, profile.id.rawValue])
        {
            throw StoreError.alreadyExists("login \"\(profile.login)\"")
        }
        if let team = profile.team, try await !db.exists("SELECT 1 FROM team WHERE id = ?", [team.rawValue]) {
            throw StoreError.notFound("team \(team)")
        }
    }

    /// Replaces an agent's skills or a team's ranking (`table` and `owner` are the store's own
    /// names, never input).
    private static func saveRanks(_ db: PGSession, table: String, owner: String, _ id: String, _ ranks: AgentSkills)
        async throws
    {
        try await db.execute("DELETE FROM \(table) WHERE \(owner) = ?", [id])
        for (queue, rank) in ranks.ranks {
            try await db.execute(
                "INSERT INTO \(table) (\(owner), queue_id, rank) VALUES (?, ?, ?)", [id, queue.rawValue, rank])
        }
    }

    private static func ranks(_ db: PGSession, table: String, owner: String, _ id: String) async throws
        -> [(QueueID, Int)]
    {
        try await db.query("SELECT queue_id, rank FROM \(table) WHERE \(owner) = ?", [id]).map {
            (QueueID(try $0.string("queue_id")), try $0.int("rank"))
        }
    }

    private static func fetchAgent(_ db: PGSession, _ id: AgentID) async throws -> AgentRecord? {
        guard let row = try await db.fetchOne("SELECT * FROM agent WHERE id = ?", [id.rawValue]) else { return nil }
        let skills = AgentSkills(
            Dictionary(
                try await ranks(db, table: "agent_skill", owner: "agent_id", id.rawValue),
                uniquingKeysWith: { first, _ in first }))
        return try agentRecord(row, skills: skills)
    }

    /// An agent from its `agent` row and its own skills.
    private static func agentRecord(_ row: PGRow, skills: AgentSkills) throws -> AgentRecord {
        let profile = AgentProfile(
            id: AgentID(try row.string("id")), login: try row.string("login"), name: try row.string("name"),
            team: try row.optionalString("team_id").map(TeamID.init), skills: skills)
        let createdAt = try row.date("created_at") ?? Date(storeValue: 0)
        return AgentRecord(profile: profile, createdAt: createdAt, updatedAt: try row.date("updated_at") ?? createdAt)
    }

    private static func fetchTeam(_ db: PGSession, _ id: TeamID) async throws -> Team? {
        guard let row = try await db.fetchOne("SELECT name FROM team WHERE id = ?", [id.rawValue]) else { return nil }
        let ranking = AgentSkills(
            Dictionary(
                try await ranks(db, table: "team_queue_rank", owner: "team_id", id.rawValue),
                uniquingKeysWith: { first, _ in first }))
        return Team(id: id, name: try row.string("name"), queueRanking: ranking)
    }

    // MARK: Do not call

    public func addDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String, note: String?, now: Date)
        async throws -> Bool
    {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await write { db in
            try await Self.checkScope(db, scope)
            return try await db.changes(
                "INSERT INTO dnc (phone, campaign_id, note, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [number, scope.campaign?.rawValue, note, now.storeValue]) > 0
        }
    }

    public func removeDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String) async throws -> Bool {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await write { db in
            switch scope {
            case .global:
                return try await db.changes("DELETE FROM dnc WHERE campaign_id IS NULL AND phone = ?", [number]) > 0
            case .campaign(let campaign):
                return try await db.changes(
                    "DELETE FROM dnc WHERE campaign_id = ? AND phone = ?", [campaign.rawValue, number]) > 0
            }
        }
    }

    public func isDoNotCall(_ phone: String, campaign: CampaignID?, defaultRegion: String) async throws -> Bool {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await read { db in
            try await PGDoNotCall.load(db, campaign: campaign, numbers: [number]).isDoNotCall(number)
        }
    }

    public func doNotCallEntries(scope: DoNotCallScope, after: String?, limit: Int) async throws -> [DoNotCallEntry] {
        try await read { db in
            let rows: [PGRow]
            switch scope {
            case .global:
                rows = try await db.query(
                    "SELECT * FROM dnc WHERE campaign_id IS NULL AND phone > ? ORDER BY phone COLLATE \"C\" LIMIT ?",
                    [after ?? "", max(0, limit)])
            case .campaign(let campaign):
                rows = try await db.query(
                    "SELECT * FROM dnc WHERE campaign_id = ? AND phone > ? ORDER BY phone COLLATE \"C\" LIMIT ?",
                    [campaign.rawValue, after ?? "", max(0, limit)])
            }
            return try rows.map { row in
                DoNotCallEntry(
                    phone: try row.string("phone"), scope: scope, note: try row.optionalString("note"),
                    addedAt: try row.date("added_at") ?? Date(storeValue: 0))
            }
        }
    }

    public func importDoNotCall<Source: AsyncSequence>(
        scope: DoNotCallScope, format: ImportFormat, options: ImportOptions, from source: Source, now: Date
    ) async throws -> DoNotCallImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        try await read { db in try await Self.checkScope(db, scope) }
        let campaign = scope.campaign?.rawValue
        return try await DoNotCallImport.run(format: format, options: options, from: source) { numbers in
            try await self.write { db in
                try await db.changes(
                    """
                    INSERT INTO dnc (phone, campaign_id, added_at) SELECT DISTINCT number, ?::TEXT, ? \
                    FROM unnest(?::TEXT[]) AS number ON CONFLICT DO NOTHING
                    """,
                    [campaign, now.storeValue, PGTextArray(values: numbers)])
            }
        }
    }

    private static func checkScope(_ db: PGSession, _ scope: DoNotCallScope) async throws {
        guard let campaign = scope.campaign else { return }
        guard try await db.exists("SELECT 1 FROM campaign WHERE id = ?", [campaign.rawValue]) else {
            throw StoreError.notFound("campaign \(campaign)")
        }
    }

    // MARK: Dispositions

    public func createDisposition(_ definition: DispositionDefinition, campaign: CampaignID) async throws {
        try await write { db in
            guard try await db.exists("SELECT 1 FROM campaign WHERE id = ?", [campaign.rawValue]) else {
                throw StoreError.notFound("campaign \(campaign)")
            }
            guard
                try await !db.exists(
                    "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?",
                    [campaign.rawValue, definition.name])
            else { throw StoreError.alreadyExists("disposition \"\(definition.name)\" of campaign \(campaign)") }
            try await db.execute(
                """
                INSERT INTO disposition (campaign_id, name, kind, private_allowed, position) VALUES (?, ?, ?, ?, \
                (SELECT COALESCE(MAX(position), 0) + 1 FROM disposition WHERE campaign_id = ?))
                """,
                [
                    campaign.rawValue, definition.name, definition.kind.rawValue, definition.privateAllowed,
                    campaign.rawValue,
                ])
        }
    }

    public func updateDisposition(named name: String, campaign: CampaignID, to definition: DispositionDefinition)
        async throws -> Bool
    {
        try await write { db in
            guard
                try await db.exists(
                    "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?", [campaign.rawValue, name])
            else { return false }
            if definition.name != name,
                try await db.exists(
                    "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?",
                    [campaign.rawValue, definition.name])
            {
                throw StoreError.alreadyExists("disposition \"\(definition.name)\" of campaign \(campaign)")
            }
            return try await db.changes(
                "UPDATE disposition SET name = ?, kind = ?, private_allowed = ? WHERE campaign_id = ? AND name = ?",
                [definition.name, definition.kind.rawValue, definition.privateAllowed, campaign.rawValue, name]) > 0
        }
    }

    public func deleteDisposition(named name: String, campaign: CampaignID) async throws -> Bool {
        try await write { db in
            try await db.changes(
                "DELETE FROM disposition WHERE campaign_id = ? AND name = ?", [campaign.rawValue, name]) > 0
        }
    }

    public func dispositions(of campaign: CampaignID) async throws -> [DispositionDefinition] {
        try await read { db in
            try await db.query(
                "SELECT * FROM disposition WHERE campaign_id = ? ORDER BY position", [campaign.rawValue]
            ).map { row in
                guard let kind = DispositionKind(rawValue: try row.string("kind")) else {
                    throw StoreError.corruptRow("disposition of campaign \(campaign): unknown kind")
                }
                return DispositionDefinition(
                    name: try row.string("name"), kind: kind, privateAllowed: try row.flag("private_allowed"))
            }
        }
    }
}
