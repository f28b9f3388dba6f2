import DialerConfig
import DialerCore
import FoundationEssentials
import Hummingbird

/// `/v1/campaigns`: campaigns with every setting, start/stop/status, dispositions, the report
/// and the campaign's "why not dialable".
enum CampaignRoutes {
    /// A campaign as the API reads and writes it; `settings` is ``CampaignSettings``' JSON, every
    /// missing setting taking its default.
    struct CampaignBody: Codable {
        var id: String?
        var name: String
        var description: String?
        var list: String
        var queue: String
        var settings: CampaignSettings?

        init(_ campaign: Campaign) {
            id = campaign.id.rawValue
            name = campaign.name
            description = campaign.description
            list = campaign.list.rawValue
            queue = campaign.queue.rawValue
            settings = campaign.settings
        }
    }

    struct StatusBody: Codable {
        var status: CampaignStatus
    }

    /// A disposition as the API reads and writes it.
    struct DispositionBody: Codable {
        var name: String
        var kind: DispositionKind
        var privateAllowed: Bool?

        init(_ definition: DispositionDefinition) {
            name = definition.name
            kind = definition.kind
            privateAllowed = definition.privateAllowed
        }

        func definition() throws -> DispositionDefinition {
            let name = try checkName(self.name, field: "name", limit: 100)
            if privateAllowed == true, kind != .callback {
                throw APIError.invalid("private_allowed: only a callback disposition can be private")
            }
            return DispositionDefinition(name: name, kind: kind, privateAllowed: privateAllowed ?? false)
        }
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        let changes = api.changes
        routes.add(.get, "/v1/campaigns", role: .readOnly) { _, _ in
            try reply(["campaigns": try await store.campaigns().map(CampaignBody.init)])
        }
        routes.add(.post, "/v1/campaigns", role: .supervisor) { request, context in
            let body = try await decodeStrictBody(CampaignBody.self, from: request, context: context)
            guard let id = body.id else { throw APIError.invalid("id: is required") }
            try checkIdentifier(id, field: "id")
            let campaign = try await storing {
                try await store.createCampaign(try makeCampaign(CampaignID(id), body, api), now: Date())
            }
            await changes.changed(.campaign(campaign.id))
            return try reply(CampaignBody(campaign), status: .created)
        }
        routes.add(.get, "/v1/campaigns/{id}", role: .readOnly) { _, context in
            try reply(CampaignBody(try await existing(context, store)))
        }
        routes.add(.put, "/v1/campaigns/{id}", role: .supervisor) { request, context in
            let current = try await existing(context, store)
            let body = try await decodeStrictBody(CampaignBody.self, from: request, context: context)
            return try reply(CampaignBody(try await update(current, body, api)))
        }
        routes.add(.patch, "/v1/campaigns/{id}", role: .supervisor) { request, context in
            let current = try await existing(context, store)
            let body = try await patched(CampaignBody(current), with: request, context: context)
            return try reply(CampaignBody(try await update(current, body, api)))
        }
        routes.add(.delete, "/v1/campaigns/{id}", role: .supervisor) { _, context in
            let id = CampaignID(try context.parameters.path("id"))
            guard try await storing({ try await store.deleteCampaign(id) }) else {
                throw APIError.notFound("campaign \(id) does not exist")
            }
            await changes.changed(.campaign(id))
            return Response(status: .noContent)
        }

        // Status: start = enabled, stop = disabled, or any status by PUT.
        routes.add(.post, "/v1/campaigns/{id}/start", role: .supervisor) { _, context in
            try await setStatus(.enabled, context, api)
        }
        routes.add(.post, "/v1/campaigns/{id}/stop", role: .supervisor) { _, context in
            try await setStatus(.disabled, context, api)
        }
        routes.add(.put, "/v1/campaigns/{id}/status", role: .supervisor) { request, context in
            let body = try await decodeStrictBody(StatusBody.self, from: request, context: context)
            return try await setStatus(body.status, context, api)
        }

        // Dispositions.
        routes.add(.get, "/v1/campaigns/{id}/dispositions", role: .readOnly) { _, context in
            let campaign = try await existing(context, store)
            return try reply(["dispositions": try await store.dispositions(of: campaign.id).map(DispositionBody.init)])
        }
        routes.add(.post, "/v1/campaigns/{id}/dispositions", role: .supervisor) { request, context in
            let campaign = try await existing(context, store)
            let definition = try await decodeStrictBody(DispositionBody.self, from: request, context: context)
                .definition()
            try await storing { try await store.createDisposition(definition, campaign: campaign.id) }
            await changes.changed(.campaign(campaign.id))
            return try reply(DispositionBody(definition), status: .created)
        }
        routes.add(.get, "/v1/campaigns/{id}/dispositions/{name}", role: .readOnly) { _, context in
            let (_, definition) = try await existingDisposition(context, store)
            return try reply(DispositionBody(definition))
        }
        routes.add(.put, "/v1/campaigns/{id}/dispositions/{name}", role: .supervisor) { request, context in
            let (campaign, current) = try await existingDisposition(context, store)
            let definition = try await decodeStrictBody(DispositionBody.self, from: request, context: context)
                .definition()
            guard
                try await storing({
                    try await store.updateDisposition(named: current.name, campaign: campaign.id, to: definition)
                })
            else { throw APIError.notFound("disposition \(current.name) does not exist") }
            await changes.changed(.campaign(campaign.id))
            return try reply(DispositionBody(definition))
        }
        routes.add(.delete, "/v1/campaigns/{id}/dispositions/{name}", role: .supervisor) { _, context in
            let (campaign, current) = try await existingDisposition(context, store)
            guard try await store.deleteDisposition(named: current.name, campaign: campaign.id) else {
                throw APIError.notFound("disposition \(current.name) does not exist")
            }
            await changes.changed(.campaign(campaign.id))
            return Response(status: .noContent)
        }

        // Figures.
        routes.add(.get, "/v1/campaigns/{id}/report", role: .readOnly) { _, context in
            let campaign = try await existing(context, store)
            guard let report = try await store.campaignReport(campaign.id, now: Date()) else {
                throw APIError.notFound("campaign \(campaign.id) does not exist")
            }
            return try reply(ReportBody(campaign: campaign.id, report))
        }
        routes.add(.get, "/v1/campaigns/{id}/dialability", role: .readOnly) { _, context in
            let campaign = try await existing(context, store)
            // The API does not know who is logged in (the gateway does): private callbacks count
            // as held while their agent is absent, that is, always here.
            guard let summary = try await store.campaignSummary(campaign.id, now: Date(), presentAgents: [])
            else { throw APIError.notFound("campaign \(campaign.id) does not exist") }
            var body = SummaryBody(campaign: campaign.id, summary)
            body.blockedBy = try await blockers(of: campaign, api).map(\.rawValue)
            return try reply(body)
        }
    }

    static func makeCampaign(_ id: CampaignID, _ body: CampaignBody, _ api: APIEnvironment) throws -> Campaign {
        if let bodyID = body.id, bodyID != id.rawValue {
            throw APIError.invalid("id: a campaign's id cannot change (was \(id), got \(bodyID))")
        }
        try checkIdentifier(body.list, field: "list")
        try checkIdentifier(body.queue, field: "queue")
        try checkDialingQueue(body.queue, api)
        let settings = body.settings ?? CampaignSettings()
        let errors = settings.validate(under: api.complianceProfile)
        guard errors.isEmpty else { throw APIError(StoreError.invalidSettings(errors)) }
        return Campaign(
            id: id, name: try checkName(body.name, field: "name"), description: body.description ?? "",
            list: ContactListID(body.list), queue: QueueID(body.queue), settings: settings)
    }

    static func setStatus(_ status: CampaignStatus, _ context: ManagerRequestContext, _ api: APIEnvironment)
        async throws -> Response
    {
        let id = CampaignID(try context.parameters.path("id"))
        guard let campaign = try await storing({ try await api.store.setCampaignStatus(id, to: status, now: Date()) })
        else { throw APIError.notFound("campaign \(id) does not exist") }
        await api.changes.changed(.campaign(id))
        return try reply(CampaignBody(campaign))
    }

    static func update(_ current: Campaign, _ body: CampaignBody, _ api: APIEnvironment) async throws -> Campaign {
        let updated = try await storing {
            try await api.store.updateCampaign(try makeCampaign(current.id, body, api), now: Date())
        }
        await api.changes.changed(.campaign(current.id))
        return updated
    }

    /// A campaign's queue must be one the cluster leases to a node for dialing: declared in the
    /// cluster configuration as a campaign queue. Any other would show enabled and never dial.
    static func checkDialingQueue(_ queue: String, _ api: APIEnvironment) throws {
        guard let declared = api.queues.first(where: { $0.id == queue }) else {
            let known = api.queues.filter { $0.kind == .campaign }.map(\.id)
            throw APIError.invalid(
                "queue: \(queue) is not a queue of the cluster configuration, so no node would ever dial it "
                    + "(campaign queues: \(known.isEmpty ? "none; add [[queue]] id = ..., kind = \"campaign\"" : known.joined(separator: ", ")))"
            )
        }
        guard declared.kind == .campaign else {
            throw APIError.conflict("queue: \(queue) is an inbound queue; a campaign needs a campaign queue to dial")
        }
    }

    /// Why a campaign cannot dial now, whatever its contacts: each reason that holds.
    static func blockers(of campaign: Campaign, _ api: APIEnvironment) async throws -> [CampaignBlocker] {
        var reasons: [CampaignBlocker] = []
        let queue = campaign.queue.rawValue
        if let declared = api.queues.first(where: { $0.id == queue }), declared.kind == .campaign {
            let owner = await api.coordinator.view().queues.first { $0.id == queue }?.owner
            if owner == nil { reasons.append(.noOwner) }
        } else {
            reasons.append(.queueNotDialable)
        }
        let teams = Dictionary(uniqueKeysWithValues: try await api.store.teams().map { ($0.id, $0.queueRanking) })
        let ranked = try await api.store.agents().contains { record in
            record.profile.skills.ranks[campaign.queue] != nil
                || record.profile.team.flatMap { teams[$0]?.ranks[campaign.queue] } != nil
        }
        // Agentless campaigns dial without agents.
        if !ranked, campaign.settings.mode != .agentless { reasons.append(.noAgentRanked) }
        let callerID = campaign.settings.callerID
        if callerID.defaultNumber == nil, callerID.pool.isEmpty { reasons.append(.noCallerID) }
        // The node checks the settings it receives the same way and does not dial with
        // settings that fail (stored past the API's checks: an older manager, a hand edit).
        if !campaign.settings.validate().isEmpty { reasons.append(.invalidSettings) }
        return reasons
    }

    /// A reason a campaign as a whole cannot dial (its contacts' own holds aside).
    enum CampaignBlocker: String {
        /// Its queue is not a campaign queue of the cluster configuration.
        case queueNotDialable
        /// No node holds its queue's lease now (no live node, or the queue is between owners).
        case noOwner
        /// No agent has its queue among their skills or their team's ranking (agentless
        /// campaigns need none).
        case noAgentRanked
        /// It has neither a default caller ID nor a pool: only contacts with their own number
        /// present one.
        case noCallerID
        /// Its stored settings fail the checks a node makes on receiving them: the node
        /// refuses them and its queue does not dial until they are corrected.
        case invalidSettings
    }

    static func existing(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> Campaign {
        let id = CampaignID(try context.parameters.path("id"))
        guard let campaign = try await store.campaign(id) else {
            throw APIError.notFound("campaign \(id) does not exist")
        }
        return campaign
    }

    static func existingDisposition(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws
        -> (Campaign, DispositionDefinition)
    {
        let campaign = try await existing(context, store)
        let name = try context.parameters.path("name")
        guard let definition = try await store.dispositions(of: campaign.id).first(where: { $0.name == name }) else {
            throw APIError.notFound("disposition \(name) of campaign \(campaign.id) does not exist")
        }
        return (campaign, definition)
    }

    /// A campaign's report, with its dictionaries keyed by the domain's names.
    struct ReportBody: Encodable {
        var campaign: CampaignID
        var contacts: Int
        var contactsByState: [String: Int]
        var contactsByLastOutcome: [String: Int]
        var contactsByLastDisposition: [String: Int]
        var exhausted: Int
        var attempts: Int
        var openAttempts: Int
        var attemptsByOutcome: [String: Int]
        var attemptsByDisposition: [String: Int]
        var liveAnswers: Int
        var abandons: Int
        var abandonsByCause: [String: Int]
        var machines: Int
        var nodeLostOnCall: Int
        var abandonRate: Double?
        var abandonRates: [WindowBody]

        struct WindowBody: Encodable {
            var window: String
            var liveAnswers: Int
            var abandons: Int
            var rate: Double?
        }

        init(campaign: CampaignID, _ report: CampaignReport) {
            self.campaign = campaign
            contacts = report.contacts
            contactsByState = Dictionary(
                uniqueKeysWithValues: report.contactsByState.map { ($0.key.rawValue, $0.value) })
            contactsByLastOutcome = Dictionary(
                uniqueKeysWithValues: report.contactsByLastOutcome.map { ($0.key.rawValue, $0.value) })
            contactsByLastDisposition = report.contactsByLastDisposition
            exhausted = report.exhausted
            attempts = report.attempts
            openAttempts = report.openAttempts
            attemptsByOutcome = Dictionary(
                uniqueKeysWithValues: report.attemptsByOutcome.map { ($0.key.rawValue, $0.value) })
            attemptsByDisposition = report.attemptsByDisposition
            liveAnswers = report.liveAnswers
            abandons = report.abandons
            abandonsByCause = report.abandonsByCause
            machines = report.machines
            nodeLostOnCall = report.nodeLostOnCall
            abandonRate = report.abandonRate
            abandonRates = [report.abandonRate24Hours, report.abandonRate30Days].map {
                WindowBody(
                    window: $0.window.rawValue, liveAnswers: $0.liveAnswers, abandons: $0.abandons, rate: $0.rate)
            }
        }
    }

    /// A campaign's "why not dialable", counted.
    struct SummaryBody: Encodable {
        var campaign: CampaignID
        var contacts: Int
        var dialableNow: Int
        var held: Int
        var heldBy: [String: Int]
        var heldUntilTime: Int
        var nextRelease: Date?
        /// Why the campaign as a whole cannot dial now (``CampaignBlocker``), whatever its contacts.
        var blockedBy: [String] = []

        init(campaign: CampaignID, _ summary: CampaignSummary) {
            self.campaign = campaign
            contacts = summary.contacts
            dialableNow = summary.dialableNow
            held = summary.held
            heldBy = Dictionary(uniqueKeysWithValues: summary.heldBy.map { ($0.key.rawValue, $0.value) })
            heldUntilTime = summary.heldUntilTime
            nextRelease = summary.nextRelease
        }
    }
}
