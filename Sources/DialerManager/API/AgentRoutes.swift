import DialerCore
import DialerTransport
import FoundationEssentials
import Hummingbird

/// `/v1/agents` and `/v1/teams`: agents with their skills (queues with a rank) and write-only
/// passwords, and teams with the queue ranking their agents inherit. Reads need read-only,
/// writes admin (an agent's password is a credential).
enum AgentRoutes {
    /// One queue an agent serves or a team ranks; a lower rank is a higher priority.
    struct SkillBody: Codable, Hashable {
        var queue: String
        var rank: Int
    }

    /// An agent as the API reads and writes it; `password` is accepted, never returned.
    struct AgentBody: Codable {
        var id: String?
        var login: String
        var name: String
        var team: String?
        var skills: [SkillBody]?
        var password: String?
    }

    /// An agent as the API shows it: the profile, the skills in effect (team ranking overridden
    /// by the agent's own), and no password.
    struct AgentView: Encodable {
        var id: String
        var login: String
        var name: String
        var team: String?
        var skills: [SkillBody]
        var effectiveSkills: [SkillBody]
        var createdAt: Date
        var updatedAt: Date
    }

    /// A resume token issued through the API.
    struct ResumeTokenView: Encodable {
        var agent: String
        var token: String
        var expiresAt: Date
    }

    struct TeamBody: Codable {
        var id: String?
        var name: String
        var queueRanking: [SkillBody]?
    }

    struct TeamView: Encodable {
        var id: String
        var name: String
        var queueRanking: [SkillBody]
        var members: [String]
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        let changes = api.changes
        routes.add(.get, "/v1/agents", role: .readOnly) { _, _ in
            var views: [AgentView] = []
            for record in try await store.agents() { views.append(try await view(record, store)) }
            return try reply(["agents": views])
        }
        routes.add(.post, "/v1/agents", role: .admin) { request, context in
            let body = try await decodeStrictBody(AgentBody.self, from: request, context: context)
            guard let id = body.id else { throw APIError.invalid("id: is required") }
            try checkIdentifier(id, field: "id")
            guard let password = body.password else { throw APIError.invalid("password: is required") }
            let profile = try makeProfile(AgentID(id), body)
            let record = try await storing {
                try await store.createAgent(profile, password: try checkPassword(password), now: Date())
            }
            await changes.changed(.agents)
            return try reply(try await view(record, store), status: .created)
        }
        routes.add(.get, "/v1/agents/{id}", role: .readOnly) { _, context in
            try reply(try await view(try await existingAgent(context, store), store))
        }
        routes.add(.put, "/v1/agents/{id}", role: .admin) { request, context in
            let current = try await existingAgent(context, store)
            let body = try await decodeStrictBody(AgentBody.self, from: request, context: context)
            return try reply(try await view(try await update(current, body, api), store))
        }
        routes.add(.patch, "/v1/agents/{id}", role: .admin) { request, context in
            let current = try await existingAgent(context, store)
            let body = try await patched(agentBody(current.profile), with: request, context: context)
            return try reply(try await view(try await update(current, body, api), store))
        }
        routes.add(.post, "/v1/agents/{id}/resume-token", role: .admin) { _, context in
            // For synthetic agents and SDKs that log many agents in at once without their
            // passwords; the agent's desktop gets its own at each password login.
            let record = try await existingAgent(context, store)
            guard let tokens = api.resumeTokens else {
                throw APIError.invalid("the cluster has no secret to sign resume tokens with")
            }
            let issued = tokens.issue(
                agent: record.id.rawValue, generation: AgentResumeTokens.generation(updatedAt: record.updatedAt),
                nowMs: AgentResumeTokens.unixMilliseconds(Date()))
            return try reply(
                ResumeTokenView(
                    agent: record.id.rawValue, token: issued.token,
                    expiresAt: Date(timeIntervalSince1970: Double(issued.expiresAtMs) / 1000)))
        }
        routes.add(.delete, "/v1/agents/{id}", role: .admin) { _, context in
            let id = AgentID(try context.parameters.path("id"))
            guard try await store.deleteAgent(id) else { throw APIError.notFound("agent \(id) does not exist") }
            await changes.changed(.agents)
            return Response(status: .noContent)
        }

        routes.add(.get, "/v1/teams", role: .readOnly) { _, _ in
            var views: [TeamView] = []
            for team in try await store.teams() { views.append(try await view(team, store)) }
            return try reply(["teams": views])
        }
        routes.add(.post, "/v1/teams", role: .admin) { request, context in
            let body = try await decodeStrictBody(TeamBody.self, from: request, context: context)
            guard let id = body.id else { throw APIError.invalid("id: is required") }
            try checkIdentifier(id, field: "id")
            let team = try makeTeam(TeamID(id), body)
            try await storing { try await store.createTeam(team, now: Date()) }
            await changes.changed(.agents)
            return try reply(try await view(team, store), status: .created)
        }
        routes.add(.get, "/v1/teams/{id}", role: .readOnly) { _, context in
            try reply(try await view(try await existingTeam(context, store), store))
        }
        routes.add(.put, "/v1/teams/{id}", role: .admin) { request, context in
            let current = try await existingTeam(context, store)
            let body = try await decodeStrictBody(TeamBody.self, from: request, context: context)
            return try reply(try await view(try await update(current, body, api), store))
        }
        routes.add(.patch, "/v1/teams/{id}", role: .admin) { request, context in
            let current = try await existingTeam(context, store)
            let currentBody = TeamBody(
                id: current.id.rawValue, name: current.name, queueRanking: skills(current.queueRanking))
            let body = try await patched(currentBody, with: request, context: context)
            return try reply(try await view(try await update(current, body, api), store))
        }
        routes.add(.delete, "/v1/teams/{id}", role: .admin) { _, context in
            let id = TeamID(try context.parameters.path("id"))
            guard try await store.deleteTeam(id) else { throw APIError.notFound("team \(id) does not exist") }
            await changes.changed(.agents)
            return Response(status: .noContent)
        }
    }

    // MARK: Agents

    static func existingAgent(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> AgentRecord {
        let id = AgentID(try context.parameters.path("id"))
        guard let record = try await store.agent(id) else { throw APIError.notFound("agent \(id) does not exist") }
        return record
    }

    static func makeProfile(_ id: AgentID, _ body: AgentBody) throws -> AgentProfile {
        if let bodyID = body.id, bodyID != id.rawValue {
            throw APIError.invalid("id: an agent's id cannot change (was \(id), got \(bodyID))")
        }
        let login = try checkName(body.login, field: "login", limit: 100)
        if let team = body.team { try checkIdentifier(team, field: "team") }
        return AgentProfile(
            id: id, login: login, name: try checkName(body.name, field: "name"), team: body.team.map(TeamID.init),
            skills: try skills(body.skills ?? [], field: "skills"))
    }

    static func update(_ current: AgentRecord, _ body: AgentBody, _ api: APIEnvironment) async throws -> AgentRecord {
        let profile = try makeProfile(current.id, body)
        let password = try body.password.map(checkPassword)
        var record = try await storing { try await api.store.updateAgent(profile, now: Date()) }
        if let password {
            _ = try await storing { try await api.store.setAgentPassword(current.id, password: password, now: Date()) }
            record = try await api.store.agent(current.id) ?? record
        }
        await api.changes.changed(.agents)
        return record
    }

    static func agentBody(_ profile: AgentProfile) -> AgentBody {
        AgentBody(
            id: profile.id.rawValue, login: profile.login, name: profile.name, team: profile.team?.rawValue,
            skills: skills(profile.skills), password: nil)
    }

    static func view(_ record: AgentRecord, _ store: any ManagerStore) async throws -> AgentView {
        let profile = record.profile
        let effective = try await store.effectiveSkills(of: record.id) ?? profile.skills
        return AgentView(
            id: profile.id.rawValue, login: profile.login, name: profile.name, team: profile.team?.rawValue,
            skills: skills(profile.skills), effectiveSkills: skills(effective), createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }

    static func checkPassword(_ password: String) throws -> String {
        guard (8...200).contains(password.count) else {
            throw APIError.invalid("password: must be 8 to 200 characters")
        }
        return password
    }

    // MARK: Teams

    static func existingTeam(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> Team {
        let id = TeamID(try context.parameters.path("id"))
        guard let team = try await store.team(id) else { throw APIError.notFound("team \(id) does not exist") }
        return team
    }

    static func makeTeam(_ id: TeamID, _ body: TeamBody) throws -> Team {
        if let bodyID = body.id, bodyID != id.rawValue {
            throw APIError.invalid("id: a team's id cannot change (was \(id), got \(bodyID))")
        }
        return Team(
            id: id, name: try checkName(body.name, field: "name"),
            queueRanking: try skills(body.queueRanking ?? [], field: "queue_ranking"))
    }

    static func update(_ current: Team, _ body: TeamBody, _ api: APIEnvironment) async throws -> Team {
        let team = try makeTeam(current.id, body)
        guard try await storing({ try await api.store.updateTeam(team, now: Date()) }) else {
            throw APIError.notFound("team \(current.id) does not exist")
        }
        await api.changes.changed(.agents)
        return team
    }

    static func view(_ team: Team, _ store: any ManagerStore) async throws -> TeamView {
        TeamView(
            id: team.id.rawValue, name: team.name, queueRanking: skills(team.queueRanking),
            members: try await store.members(of: team.id).map(\.rawValue))
    }

    // MARK: Skills

    static func skills(_ skills: AgentSkills) -> [SkillBody] {
        skills.ranks.map { SkillBody(queue: $0.key.rawValue, rank: $0.value) }.sorted {
            ($0.rank, $0.queue) < ($1.rank, $1.queue)
        }
    }

    static func skills(_ bodies: [SkillBody], field: String) throws -> AgentSkills {
        var ranks: [QueueID: Int] = [:]
        for (index, skill) in bodies.enumerated() {
            try checkIdentifier(skill.queue, field: "\(field)[\(index)].queue")
            guard (0...1000).contains(skill.rank) else {
                throw APIError.invalid("\(field)[\(index)].rank: must be 0 to 1000")
            }
            guard ranks.updateValue(skill.rank, forKey: QueueID(skill.queue)) == nil else {
                throw APIError.invalid("\(field)[\(index)].queue: \(skill.queue) is listed twice")
            }
        }
        return AgentSkills(ranks)
    }
}
