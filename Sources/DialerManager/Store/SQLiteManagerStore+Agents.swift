public import DialerCore
public import FoundationEssentials
import GRDB

// Agents, their skills and passwords; teams and their queue rankings.

extension SQLiteManagerStore {
    public func createAgent(_ profile: AgentProfile, password: String, now: Date) async throws -> AgentRecord {
        // Hashing is slow by design: outside the write transaction, which other writers wait for,
        // and on the password executor, off the cooperative pool.
        let passwords = self.passwords
        let hash = try await PasswordWork.shared.run { try passwords.hash(password) }
        return try await pool.write { db in
            guard try !Self.exists(db, "SELECT 1 FROM agent WHERE id = ?", [profile.id.rawValue]) else {
                throw StoreError.alreadyExists("agent \(profile.id)")
            }
            try Self.checkLoginAndTeam(db, profile)
            try db.execute(
                sql: """
                    INSERT INTO agent (id, login, name, team_id, password_algorithm, password_iterations, \
                    password_salt, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    profile.id.rawValue, profile.login, profile.name, profile.team?.rawValue, hash.algorithm,
                    hash.iterations, Data(hash.salt), Data(hash.hash), now.storeValue, now.storeValue,
                ])
            try Self.saveSkills(db, agent: profile.id, profile.skills)
            return try Self.fetchAgent(db, profile.id)!
        }
    }

    public func updateAgent(_ profile: AgentProfile, now: Date) async throws -> AgentRecord {
        try await pool.write { db in
            guard try Self.exists(db, "SELECT 1 FROM agent WHERE id = ?", [profile.id.rawValue]) else {
                throw StoreError.notFound("agent \(profile.id)")
            }
            try Self.checkLoginAndTeam(db, profile)
            try db.execute(
                sql: "UPDATE agent SET login = ?, name = ?, team_id = ?, updated_at = ? WHERE id = ?",
                arguments: [profile.login, profile.name, profile.team?.rawValue, now.storeValue, profile.id.rawValue])
            try Self.saveSkills(db, agent: profile.id, profile.skills)
            return try Self.fetchAgent(db, profile.id)!
        }
    }

    public func setAgentPassword(_ id: AgentID, password: String, now: Date) async throws -> Bool {
        let passwords = self.passwords
        let hash = try await PasswordWork.shared.run { try passwords.hash(password) }
        return try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE agent SET password_algorithm = ?, password_iterations = ?, password_salt = ?, \
                    password_hash = ?, updated_at = ? WHERE id = ?
                    """,
                arguments: [
                    hash.algorithm, hash.iterations, Data(hash.salt), Data(hash.hash), now.storeValue, id.rawValue,
                ])
            return db.changesCount > 0
        }
    }

    public func deleteAgent(_ id: AgentID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM agent WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount > 0
        }
    }

    public func agent(_ id: AgentID) async throws -> AgentRecord? {
        try await pool.read { db in try Self.fetchAgent(db, id) }
    }

    public func agents() async throws -> [AgentRecord] {
        // Two queries for the whole floor, not two per agent: the live snapshots read every agent
        // every few seconds, and 10,000 agents made that 20,000 statements.
        try await pool.read { db in
            var skills: [String: [QueueID: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent_id, queue_id, rank FROM agent_skill") {
                skills[row["agent_id"], default: [:]][QueueID(row["queue_id"])] = row["rank"]
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM agent ORDER BY id").map { row in
                let id: String = row["id"]
                return Self.agentRecord(row, skills: AgentSkills(skills[id] ?? [:]))
            }
        }
    }

    public func authenticateAgent(login: String, password: String) async throws -> AgentRecord? {
        let stored = try await pool.read { db -> (AgentID, PasswordHash)? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, password_algorithm, password_iterations, password_salt, password_hash FROM agent \
                        WHERE login = ?
                        """,
                    arguments: [login])
            else { return nil }
            return (AgentID(row["id"]), Self.passwordHash(row))
        }
        guard let (id, hash) = stored else {
            // Spend the time a real check takes, so that timing does not tell which logins exist.
            let decoy = Self.decoyHash(iterations: passwords.iterations)
            _ = try await PasswordWork.shared.run { try PasswordHasher.verify(password, against: decoy) }
            return nil
        }
        guard try await PasswordWork.shared.run({ try PasswordHasher.verify(password, against: hash) }) else {
            return nil
        }
        return try await agent(id)
    }

    public func effectiveSkills(of id: AgentID) async throws -> AgentSkills? {
        try await pool.read { db in
            guard let agent = try Self.fetchAgent(db, id) else { return nil }
            var skills = AgentSkills()
            if let team = agent.profile.team {
                for (queue, rank) in try Self.ranks(db, table: "team_queue_rank", owner: "team_id", team.rawValue) {
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
        try await pool.write { db in
            guard try !Self.exists(db, "SELECT 1 FROM team WHERE id = ?", [team.id.rawValue]) else {
                throw StoreError.alreadyExists("team \(team.id)")
            }
            try db.execute(
                sql: "INSERT INTO team (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                arguments: [team.id.rawValue, team.name, now.storeValue, now.storeValue])
            try Self.saveRanking(db, team: team.id, team.queueRanking)
        }
    }

    public func updateTeam(_ team: Team, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE team SET name = ?, updated_at = ? WHERE id = ?",
                arguments: [team.name, now.storeValue, team.id.rawValue])
            guard db.changesCount > 0 else { return false }
            try Self.saveRanking(db, team: team.id, team.queueRanking)
            return true
        }
    }

    public func deleteTeam(_ id: TeamID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM team WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount > 0
        }
    }

    public func team(_ id: TeamID) async throws -> Team? {
        try await pool.read { db in try Self.fetchTeam(db, id) }
    }

    public func teams() async throws -> [Team] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM team ORDER BY id").compactMap {
                try Self.fetchTeam(db, TeamID($0))
            }
        }
    }

    public func members(of team: TeamID) async throws -> [AgentID] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM agent WHERE team_id = ? ORDER BY id", arguments: [team.rawValue]
            )
            .map(AgentID.init)
        }
    }

    /// Every stored password hash, by agent id, for tests that check nothing else is stored.
    func storedPasswords() throws -> [PasswordHash] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agent ORDER BY id").map(Self.passwordHash)
        }
    }

    // MARK: Helpers

    private static func passwordHash(_ row: Row) -> PasswordHash {
        let salt: Data = row["password_salt"]
        let hash: Data = row["password_hash"]
        return PasswordHash(
            algorithm: row["password_algorithm"], iterations: row["password_iterations"], salt: Array(salt),
            hash: Array(hash))
    }

    /// A hash no password matches in practice, made the way real ones are.
    private static func decoyHash(iterations: Int) -> PasswordHash {
        PasswordHash(
            algorithm: PasswordHasher.algorithm, iterations: iterations, salt: Array(repeating: 0, count: 16),
            hash: Array(repeating: 0, count: PasswordHasher.hashBytes))
    }

    private static func checkLoginAndTeam(_ db: Database, _ profile: AgentProfile) throws {
        guard !profile.login.isEmpty else { throw StoreError.invalid("an agent needs a login") }
        if try exists(db, "SELECT 1 FROM agent WHERE login = ? AND id <> ?", [profile.login, profile.id.rawValue]) {
            throw StoreError.alreadyExists("login \"\(profile.login)\"")
        }
        if let team = profile.team, try !exists(db, "SELECT 1 FROM team WHERE id = ?", [team.rawValue]) {
            throw StoreError.notFound("team \(team)")
        }
    }

    private static func saveSkills(_ db: Database, agent: AgentID, _ skills: AgentSkills) throws {
        try db.execute(sql: "DELETE FROM agent_skill WHERE agent_id = ?", arguments: [agent.rawValue])
        for (queue, rank) in skills.ranks {
            try db.execute(
                sql: "INSERT INTO agent_skill (agent_id, queue_id, rank) VALUES (?, ?, ?)",
                arguments: [agent.rawValue, queue.rawValue, rank])
        }
    }

    private static func saveRanking(_ db: Database, team: TeamID, _ ranking: AgentSkills) throws {
        try db.execute(sql: "DELETE FROM team_queue_rank WHERE team_id = ?", arguments: [team.rawValue])
        for (queue, rank) in ranking.ranks {
            try db.execute(
                sql: "INSERT INTO team_queue_rank (team_id, queue_id, rank) VALUES (?, ?, ?)",
                arguments: [team.rawValue, queue.rawValue, rank])
        }
    }

    private static func ranks(_ db: Database, table: String, owner: String, _ id: String) throws -> [(QueueID, Int)] {
        try Row.fetchAll(db, sql: "SELECT queue_id, rank FROM \(table) WHERE \(owner) = ?", arguments: [id]).map {
            (QueueID($0["queue_id"]), $0["rank"])
        }
    }

    private static func fetchAgent(_ db: Database, _ id: AgentID) throws -> AgentRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM agent WHERE id = ?", arguments: [id.rawValue]) else {
            return nil
        }
        let skills = AgentSkills(
            Dictionary(
                try ranks(db, table: "agent_skill", owner: "agent_id", id.rawValue),
                uniquingKeysWith: { first, _ in first }
            ))
        return agentRecord(row, skills: skills)
    }

    /// An agent from its `agent` row and its own skills.
    private static func agentRecord(_ row: Row, skills: AgentSkills) -> AgentRecord {
        let profile = AgentProfile(
            id: AgentID(row["id"]), login: row["login"], name: row["name"],
            team: (row["team_id"] as String?).map(TeamID.init), skills: skills)
        let createdAt = row.date("created_at") ?? Date(storeValue: 0)
        return AgentRecord(profile: profile, createdAt: createdAt, updatedAt: row.date("updated_at") ?? createdAt)
    }

    private static func fetchTeam(_ db: Database, _ id: TeamID) throws -> Team? {
        guard let name = try String.fetchOne(db, sql: "SELECT name FROM team WHERE id = ?", arguments: [id.rawValue])
        else { return nil }
        let ranking = AgentSkills(
            Dictionary(
                try ranks(db, table: "team_queue_rank", owner: "team_id", id.rawValue),
                uniquingKeysWith: { first, _ in first }
            ))
        return Team(id: id, name: name, queueRanking: ranking)
    }
}
