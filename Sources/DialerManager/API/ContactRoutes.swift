import DialerCore
import DialerImport
import FoundationEssentials
import Hummingbird

/// `/v1/contacts` and `/v1/lists/{id}/contacts`: single contacts, search, attempt resets and a
/// contact's "why not dialable".
enum ContactRoutes {
    /// What an operator writes to add or edit a contact.
    struct ContactBody: Codable {
        var phone: String
        var timeZone: String?
        var callerID: String?
        var priority: Int?
        var fields: [String: String]?
        /// The region a national number is read in; the manager's default when absent.
        var defaultRegion: String?

        init(_ contact: Contact) {
            phone = contact.phoneNumber
            timeZone = contact.timeZone
            callerID = contact.callerID
            priority = contact.priority
            fields = contact.fields
        }

        var draft: ContactDraft {
            ContactDraft(
                phone: phone, timeZone: timeZone, callerID: callerID, priority: priority ?? 0, fields: fields ?? [:])
        }
    }

    /// One attempt of a contact's history as the API shows it. Every field is written, `null`
    /// when unknown, so that an open attempt (no outcome yet) reads the same as a closed one.
    struct AttemptBody: Encodable {
        var attempt: ContactAttempt

        init(_ attempt: ContactAttempt) { self.attempt = attempt }

        private enum CodingKeys: String, CodingKey {
            case id, campaign, contact, node, handedOutAt, dialedAt, answeredAt, bridgedAt, callEndedAt, closedAt
            case outcome, callerID, agent, disposition, dispositionAt, abandonCause, nodeLostOnCall
        }

        func encode(to encoder: any Encoder) throws {
            let record = attempt.record
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(record.id, forKey: .id)
            try container.encode(attempt.campaign, forKey: .campaign)
            try container.encode(record.contact, forKey: .contact)
            try container.encode(record.node?.rawValue, forKey: .node)
            try container.encode(record.startedAt, forKey: .handedOutAt)
            try container.encode(record.dialedAt, forKey: .dialedAt)
            try container.encode(record.answeredAt, forKey: .answeredAt)
            try container.encode(record.bridgedAt, forKey: .bridgedAt)
            try container.encode(record.callEndedAt, forKey: .callEndedAt)
            try container.encode(record.endedAt, forKey: .closedAt)
            try container.encode(record.outcome, forKey: .outcome)
            try container.encode(record.callerID, forKey: .callerID)
            try container.encode(record.abandonCause?.rawValue, forKey: .abandonCause)
            try container.encode(record.agent?.rawValue, forKey: .agent)
            try container.encode(record.disposition, forKey: .disposition)
            try container.encode(attempt.dispositionAt, forKey: .dispositionAt)
            try container.encode(record.nodeLostOnCall, forKey: .nodeLostOnCall)
        }
    }

    /// Which contacts an attempt reset is about; `all` must be said outright.
    struct ResetBody: Codable {
        var all: Bool?
        var list: String?
        var campaign: String?
        var phone: String?
        var states: [ContactStateKind]?
        var lastOutcome: AttemptOutcome?
        var minimumAttempts: Int?
        var fields: [String: String]?
        var defaultRegion: String?
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        routes.add(.post, "/v1/lists/{id}/contacts", role: .supervisor) { request, context in
            let list = try await ListRoutes.existingList(context, store)
            let body = try await decodeStrictBody(ContactBody.self, from: request, context: context)
            let region = try regionOf(body.defaultRegion, api)
            let contact = try await storing {
                try await store.addContact(to: list.id, body.draft, defaultRegion: region, now: Date())
            }
            return try reply(contact, status: .created)
        }
        routes.add(.get, "/v1/contacts", role: .readOnly) { request, _ in
            var query = Query(request)
            var filter = ContactFilter()
            filter.list = query.string("list").map(ContactListID.init)
            filter.campaign = query.string("campaign").map(CampaignID.init)
            let region = try regionOf(query.string("default_region"), api)
            filter.phone = try query.string("phone").map { try normalized($0, region: region, field: "phone") }
            if let states = query.string("state") {
                filter.states = Set(
                    try states.split(separator: ",").map { name in
                        guard let state = ContactStateKind(rawValue: String(name)) else {
                            throw APIError.invalid(
                                "state: must be one of "
                                    + ContactStateKind.allCases.map(\.rawValue).joined(separator: ", "))
                        }
                        return state
                    })
            }
            filter.lastOutcome = try query.choice("last_outcome", of: AttemptOutcome.self)
            filter.minimumAttempts = try query.integer("min_attempts", in: 0...1_000_000)
            filter.fields = query.prefixed("field.")
            let after = query.string("after").map(ContactID.init)
            let limit = try query.integer("limit", in: 1...1000) ?? 100
            let withTotal = try query.bool("count")
            try query.checkAllUsed()
            struct Page: Encodable {
                var contacts: [Contact]
                var nextAfter: ContactID?
                var total: Int?
            }
            let page = try await storing { try await store.searchContacts(filter, after: after, limit: limit) }
            let total = withTotal ? try await store.countContacts(filter) : nil
            return try reply(Page(contacts: page.contacts, nextAfter: page.nextAfter, total: total))
        }
        routes.add(.get, "/v1/contacts/{id}", role: .readOnly) { _, context in
            try reply(try await existing(context, store))
        }
        routes.add(.put, "/v1/contacts/{id}", role: .supervisor) { request, context in
            let contact = try await existing(context, store)
            let body = try await decodeStrictBody(ContactBody.self, from: request, context: context)
            return try reply(try await update(contact, body, api))
        }
        routes.add(.patch, "/v1/contacts/{id}", role: .supervisor) { request, context in
            let contact = try await existing(context, store)
            let body = try await patched(ContactBody(contact), with: request, context: context)
            return try reply(try await update(contact, body, api))
        }
        routes.add(.delete, "/v1/contacts/{id}", role: .supervisor) { _, context in
            let id = try contactID(context)
            guard try await storing({ try await store.deleteContact(id) }) else {
                throw APIError.notFound("contact \(id) does not exist")
            }
            return Response(status: .noContent)
        }
        routes.add(.post, "/v1/contacts/{id}/reset-attempts", role: .supervisor) { _, context in
            let id = try contactID(context)
            guard let changed = try await storing({ try await store.resetAttempts(of: id, now: Date()) }) else {
                throw APIError.notFound("contact \(id) does not exist")
            }
            guard changed else {
                throw APIError.conflict("contact \(id) is in an open attempt: its counter resets after the result")
            }
            return try reply(try await existing(context, store))
        }
        routes.add(.post, "/v1/contacts/reset-attempts", role: .supervisor) { request, context in
            let body = try await decodeStrictBody(ResetBody.self, from: request, context: context)
            let filter = try resetFilter(body, api)
            let reset = try await storing { try await store.resetAttempts(matching: filter, now: Date()) }
            return try reply(reset)
        }
        routes.add(.get, "/v1/contacts/{id}/attempts", role: .readOnly) { _, context in
            let contact = try await existing(context, store)
            struct Body: Encodable {
                var attempts: [AttemptBody]
            }
            let attempts = try await storing { try await store.attempts(ofContact: contact.id) }
            return try reply(Body(attempts: attempts.map(AttemptBody.init)))
        }
        routes.add(.get, "/v1/contacts/{id}/dialability", role: .readOnly) { _, context in
            let contact = try await existing(context, store)
            // The API does not know who is logged in: a private callback is held while its agent
            // is absent, which it always is here.
            guard let answer = try await store.dialability(of: contact.id, now: Date(), presentAgents: []) else {
                throw APIError.conflict("contact \(contact.id) is in a list no campaign dials: it has no verdict")
            }
            struct Body: Encodable {
                var contact: ContactID
                var campaign: CampaignID
                var dialable: Bool
                var privateAgent: String?
                var holds: [DialabilityHold]
                var earliestDialable: Date?
            }
            var privateAgent: String?
            if case .dialable(let agent) = answer.verdict { privateAgent = agent?.rawValue }
            return try reply(
                Body(
                    contact: contact.id, campaign: answer.contact.campaign, dialable: answer.verdict.isDialable,
                    privateAgent: privateAgent, holds: answer.verdict.holds, earliestDialable: answer.earliestDialable))
        }
    }

    static func regionOf(_ text: String?, _ api: APIEnvironment) throws -> String {
        try text.map { try checkRegion($0, field: "default_region") } ?? api.defaultRegion
    }

    static func normalized(_ phone: String, region: String, field: String) throws -> String {
        switch PhoneNumber.normalize(phone, defaultRegion: region) {
        case .success(let number): return number.description
        case .failure(let error): throw APIError.invalid("\(field): \(error)")
        }
    }

    static func resetFilter(_ body: ResetBody, _ api: APIEnvironment) throws -> ContactFilter {
        let region = try regionOf(body.defaultRegion, api)
        let filter = ContactFilter(
            list: body.list.map(ContactListID.init), campaign: body.campaign.map(CampaignID.init),
            phone: try body.phone.map { try normalized($0, region: region, field: "phone") },
            states: body.states.map(Set.init), lastOutcome: body.lastOutcome, minimumAttempts: body.minimumAttempts,
            fields: body.fields ?? [:])
        if body.all == true {
            guard filter == ContactFilter() else {
                throw APIError.invalid("all: resets every contact, and cannot be combined with a condition")
            }
        } else if filter == ContactFilter() {
            throw APIError.invalid("body: name contacts (list, campaign, phone, states ...) or say \"all\": true")
        }
        return filter
    }

    static func contactID(_ context: ManagerRequestContext) throws -> ContactID {
        ContactID(try context.parameters.path("id"))
    }

    static func existing(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> Contact {
        let id = try contactID(context)
        guard let contact = try await store.contact(id) else { throw APIError.notFound("contact \(id) does not exist") }
        return contact
    }

    static func update(_ contact: Contact, _ body: ContactBody, _ api: APIEnvironment) async throws -> Contact {
        let region = try regionOf(body.defaultRegion, api)
        return try await storing {
            try await api.store.updateContact(contact.id, body.draft, defaultRegion: region, now: Date())
        }
    }
}
