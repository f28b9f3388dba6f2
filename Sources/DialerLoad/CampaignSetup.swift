public import DialerRuntime
public import Foundation

/// A dialing mode of a campaign, as the API names it.
public enum DialingMode: String, CaseIterable, Codable, Sendable {
    case preview, progressive, power, predictive, agentless
}

/// The manager's API refused a request during the set-up of a run.
public struct SetupFailure: Error, CustomStringConvertible, Sendable {
    public var request: String
    public var status: Int
    public var body: String
    public var description: String { "\(request): the manager answered \(status): \(body)" }
}

/// Creates what a run needs through the manager's HTTP API (`openapi.yaml`): contact lists,
/// teams, agents, campaigns, and reads the campaigns' statistics back.
public struct CampaignSetup: Sendable {
    public let api: ManagerHTTPClient

    public init(api: ManagerHTTPClient) {
        self.api = api
    }

    /// Sends `body` (encoded in the API's snake_case form); a non-2xx answer throws.
    @discardableResult
    public func send(
        _ method: String, _ path: String, _ body: some Encodable, timeout: TimeInterval = 30
    ) async throws -> Data {
        let data = try APIJSON.encoder().encode(body)
        let (status, answer) = try await api.send(method, path, body: data, timeout: timeout)
        guard (200..<300).contains(status) else {
            throw SetupFailure(
                request: "\(method) /\(path)", status: status, body: String(decoding: answer, as: UTF8.self))
        }
        return answer
    }

    /// A generated phone number of the list: distinct Tokyo numbers (+81 3 …), valid for the
    /// importer's normaliser, for up to a million contacts.
    public static func phone(_ index: Int) -> String {
        String(format: "+813%08d", 31_230_000 + index)
    }

    /// Creates the list `id` and imports `contacts` generated numbers, waiting for the import.
    public func createList(id: String, name: String, contacts: Int) async throws {
        try await send("POST", "v1/lists", ["id": id, "name": name])
        // Imported in chunks so that one request body stays small.
        let chunk = 50_000
        var start = 0
        while start < contacts {
            let end = min(contacts, start + chunk)
            let rows = (start..<end).map { #"{"phone":""# + Self.phone($0) + #""}"# }
            let body = Data(("[" + rows.joined(separator: ",") + "]").utf8)
            let path = "v1/lists/\(id)/imports?format=json&default_region=JP&wait=true"
            let (status, answer) = try await api.send("POST", path, body: body, timeout: 300)
            guard (200..<300).contains(status) else {
                throw SetupFailure(
                    request: "POST /\(path)", status: status, body: String(decoding: answer, as: UTF8.self))
            }
            start = end
        }
    }

    private struct Team: Encodable {
        struct Rank: Encodable {
            var queue: String
            var rank: Int
        }
        var id: String
        var name: String
        var queueRanking: [Rank]
    }

    /// Creates a team whose agents serve `ranking`'s queues, rank 1 first.
    public func createTeam(id: String, name: String, ranking: [(queue: String, rank: Int)]) async throws {
        try await send(
            "POST", "v1/teams",
            Team(id: id, name: name, queueRanking: ranking.map { Team.Rank(queue: $0.queue, rank: $0.rank) }))
    }

    private struct Agent: Encodable {
        var id: String
        var login: String
        var name: String
        var team: String
        var password: String
    }

    /// Creates one agent per account in `team`, a few requests at a time.
    public func createAgents(_ accounts: [(login: String, password: String)], team: String) async throws {
        let width = 4
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, account) in accounts.enumerated() {
                if index >= width { try await group.next() }
                group.addTask {
                    try await send(
                        "POST", "v1/agents",
                        Agent(
                            id: account.login, login: account.login, name: "Synthetic \(account.login)", team: team,
                            password: account.password))
                }
            }
            try await group.waitForAll()
        }
    }

    private struct ResumeToken: Decodable {
        var token: String
    }

    /// A resume token for each agent (`POST /v1/agents/{id}/resume-token`), a few requests at a
    /// time, by agent id; nil when the manager has no such route (an older cluster): the agents
    /// then log in with their passwords.
    public func resumeTokens(for agents: [String]) async throws -> [String: String]? {
        guard let first = agents.first else { return [:] }
        let (status, _) = try await api.send("POST", "v1/agents/\(first)/resume-token", body: Data("{}".utf8))
        if status == 404 || status == 405 { return nil }
        let width = 8
        return try await withThrowingTaskGroup(of: (String, String).self) { group in
            var tokens: [String: String] = [:]
            for (index, agent) in agents.enumerated() {
                if index >= width, let (id, token) = try await group.next() { tokens[id] = token }
                group.addTask {
                    let answer = try await send("POST", "v1/agents/\(agent)/resume-token", [String: String]())
                    return (agent, try JSONDecoder().decode(ResumeToken.self, from: answer).token)
                }
            }
            for try await (id, token) in group { tokens[id] = token }
            return tokens
        }
    }

    private struct Campaign: Encodable {
        struct Settings: Encodable {
            struct Machine: Encodable { var action: String }
            struct Hours: Encodable {
                var start: String
                var end: String
            }
            var mode: DialingMode
            var status = "enabled"
            var maximumAttempts = 1
            var timeZone = "Asia/Tokyo"
            var answeringMachine = Machine(action: "hangUp")
            // All day, so that a run does not depend on the hour it starts at.
            var callingHours = Hours(start: "00:00", end: "24:00")
            var ivrPorts: Int?
        }
        var id: String
        var name: String
        var list: String
        var queue: String
        var settings: Settings
    }

    /// Creates an enabled campaign on `queue` dialing `list` once per contact, at any hour,
    /// with final dispositions `dispositions`.
    public func createCampaign(
        id: String, name: String, list: String, queue: String, mode: DialingMode, ivrPorts: Int,
        dispositions: [String]
    ) async throws {
        var settings = Campaign.Settings(mode: mode)
        if mode == .agentless { settings.ivrPorts = ivrPorts }
        try await send(
            "POST", "v1/campaigns", Campaign(id: id, name: name, list: list, queue: queue, settings: settings))
        for disposition in dispositions {
            try await send("POST", "v1/campaigns/\(id)/dispositions", ["name": disposition, "kind": "final"])
        }
    }

    /// Stops the campaign from dialing (calls in progress finish).
    public func disable(campaign: String) async throws {
        try await send("PUT", "v1/campaigns/\(campaign)/status", ["status": "disabled"])
    }

    /// `GET /v1/campaigns/{id}/report`: the campaign's statistics.
    public func report(campaign: String) async throws -> CampaignReport {
        let (status, data) = try await api.send("GET", "v1/campaigns/\(campaign)/report", timeout: 10)
        guard (200..<300).contains(status) else {
            throw SetupFailure(
                request: "GET /v1/campaigns/\(campaign)/report", status: status,
                body: String(decoding: data, as: UTF8.self))
        }
        return try JSONDecoder().decode(CampaignReport.self, from: data)
    }
}

/// A campaign's statistics as `GET /v1/campaigns/{id}/report` gives them (the fields a run
/// reports; the names of outcomes and states are kept as the API writes them).
public struct CampaignReport: Codable, Hashable, Sendable {
    public var campaign: String
    public var contacts: Int
    public var contactsByState: [String: Int]
    public var attempts: Int
    public var openAttempts: Int
    public var attemptsByOutcome: [String: Int]
    public var attemptsByDisposition: [String: Int]
    public var liveAnswers: Int
    public var abandons: Int
    /// Abandons by the cause their node reported (`no-agent-free`, `classified-late` ...).
    public var abandonsByCause: [String: Int]?
    public var machines: Int
    public var abandonRate: Double?

    enum CodingKeys: String, CodingKey {
        case campaign, contacts, attempts, abandons, machines
        case abandonsByCause = "abandons_by_cause"
        case contactsByState = "contacts_by_state"
        case openAttempts = "open_attempts"
        case attemptsByOutcome = "attempts_by_outcome"
        case attemptsByDisposition = "attempts_by_disposition"
        case liveAnswers = "live_answers"
        case abandonRate = "abandon_rate"
    }

    /// Attempts bridged to an agent.
    public var connected: Int { attemptsByOutcome["connected"] ?? 0 }

    /// The causes of the abandons, most first, as one line: `no-agent-free 9, customer-hung-up 2`.
    public var abandonCausesLine: String {
        (abandonsByCause ?? [:]).sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
            .joined(separator: ", ")
    }
    /// Contacts not yet dialed or waiting for a retry.
    public var contactsLeft: Int { (contactsByState["fresh"] ?? 0) + (contactsByState["scheduled"] ?? 0) }
}
