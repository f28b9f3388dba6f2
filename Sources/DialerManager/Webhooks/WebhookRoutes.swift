import DialerRuntime
import FoundationEssentials
import Hummingbird

/// `/v1/webhooks`: subscriptions (CRUD) and each one's delivery log.
enum WebhookRoutes {
    /// What a client sends to create or change a subscription (a PATCH is merged into it).
    struct SubscriptionBody: Codable {
        var url: String
        var events: [String]
        var secret: String?
        var description: String?
        var active: Bool?
    }

    struct SubscriptionView: Encodable {
        var id: String
        var url: String
        var events: [String]
        var description: String
        var active: Bool
        var createdAt: Date
        var updatedAt: Date
        /// Only in the answer to a create (or a PATCH that sets a new one).
        var secret: String?

        init(_ subscription: WebhookSubscription, secret: String? = nil) {
            id = subscription.id
            url = subscription.url
            events = subscription.events.map(\.rawValue).sorted()
            description = subscription.description
            active = subscription.active
            createdAt = subscription.createdAt
            updatedAt = subscription.updatedAt
            self.secret = secret
        }
    }

    struct TryView: Encodable {
        var attempt: Int
        var at: Date
        var status: Int?
        var error: String?
        var durationMs: Int
    }

    struct DeliveryView: Encodable {
        var id: Int64
        var eventId: String
        var event: String
        var state: String
        var attempts: Int
        var createdAt: Date
        var nextAttemptAt: Date?
        var lastAttemptAt: Date?
        var lastStatus: Int?
        var lastError: String?
        var deliveredAt: Date?
        var payload: JSONTree
        var tries: [TryView]
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        routes.add(.get, "/v1/webhooks", role: .supervisor) { request, _ in
            try Query(request).checkAllUsed()
            return try reply(["webhooks": try await store.webhooks().map { SubscriptionView($0) }])
        }
        routes.add(.post, "/v1/webhooks", role: .admin) { request, context in
            try Query(request).checkAllUsed()
            let body = try await decodeStrictBody(SubscriptionBody.self, from: request, context: context)
            let now = Date()
            let secret = try body.secret.map { try checkSecret($0) } ?? generatedSecret()
            let subscription = WebhookSubscription(
                id: generatedID(), url: try checkURL(body.url), events: try checkEvents(body.events), secret: secret,
                description: try checkDescription(body.description), active: body.active ?? true, createdAt: now,
                updatedAt: now)
            try await storing { try await store.createWebhook(subscription) }
            return try reply(SubscriptionView(subscription, secret: secret), status: .created)
        }
        routes.add(.get, "/v1/webhooks/{id}", role: .supervisor) { request, context in
            try Query(request).checkAllUsed()
            return try reply(SubscriptionView(try await existing(context, store)))
        }
        routes.add(.patch, "/v1/webhooks/{id}", role: .admin) { request, context in
            try Query(request).checkAllUsed()
            var subscription = try await existing(context, store)
            let current = SubscriptionBody(
                url: subscription.url, events: subscription.events.map(\.rawValue).sorted(), secret: nil,
                description: subscription.description, active: subscription.active)
            let body = try await patched(current, with: request, context: context)
            subscription.url = try checkURL(body.url)
            subscription.events = try checkEvents(body.events)
            subscription.description = try checkDescription(body.description)
            subscription.active = body.active ?? true
            let newSecret = try body.secret.map { try checkSecret($0) }
            if let newSecret { subscription.secret = newSecret }
            subscription.updatedAt = Date()
            try await storing { try await store.updateWebhook(subscription) }
            return try reply(SubscriptionView(subscription, secret: newSecret))
        }
        routes.add(.delete, "/v1/webhooks/{id}", role: .admin) { request, context in
            try Query(request).checkAllUsed()
            let id = try context.parameters.path("id")
            guard try await store.deleteWebhook(id: id) else { throw APIError.notFound("webhook \(id) does not exist") }
            return Response(status: .noContent)
        }
        routes.add(.get, "/v1/webhooks/{id}/deliveries", role: .supervisor) { request, context in
            var query = Query(request)
            let state = try query.choice("state", of: WebhookDeliveryState.self)
            let before = try query.integer("before", in: 1...Int(Int64.max)).map(Int64.init)
            let limit = try query.integer("limit", in: 1...500) ?? 50
            try query.checkAllUsed()
            let subscription = try await existing(context, store)
            let deliveries = try await store.webhookDeliveries(
                subscription: subscription.id, state: state, before: before, limit: limit)
            struct Page: Encodable {
                var deliveries: [DeliveryView]
                var nextBefore: Int64?
            }
            return try reply(
                Page(
                    deliveries: deliveries.map { delivery in
                        DeliveryView(
                            id: delivery.id, eventId: delivery.eventID, event: delivery.event.rawValue,
                            state: delivery.state.rawValue, attempts: delivery.attempts, createdAt: delivery.createdAt,
                            nextAttemptAt: delivery.nextAttemptAt, lastAttemptAt: delivery.lastAttemptAt,
                            lastStatus: delivery.lastStatus, lastError: delivery.lastError,
                            deliveredAt: delivery.deliveredAt,
                            payload: (try? StrictJSON.tree(Data(delivery.payload.utf8))) ?? .string(delivery.payload),
                            tries: delivery.tries.map {
                                TryView(
                                    attempt: $0.attempt, at: $0.at, status: $0.status, error: $0.error,
                                    durationMs: $0.durationMilliseconds)
                            })
                    }, nextBefore: deliveries.count == limit ? deliveries.last?.id : nil))
        }
    }

    static func existing(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws
        -> WebhookSubscription
    {
        let id = try context.parameters.path("id")
        guard let subscription = try await store.webhook(id: id) else {
            throw APIError.notFound("webhook \(id.prefix(100)) does not exist")
        }
        return subscription
    }

    /// An absolute `http` or `https` URL with a host, at most 2048 bytes.
    static func checkURL(_ text: String) throws -> String {
        guard text.utf8.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw APIError.invalid("url: must be an absolute http or https URL with a host, at most 2048 bytes")
        }
        return text
    }

    static func checkEvents(_ names: [String]) throws -> Set<WebhookEvent> {
        let allowed = WebhookEvent.allCases.map(\.rawValue).joined(separator: ", ")
        guard !names.isEmpty else { throw APIError.invalid("events: must name at least one of \(allowed)") }
        var events: Set<WebhookEvent> = []
        for (index, name) in names.enumerated() {
            guard let event = WebhookEvent(rawValue: name) else {
                throw APIError.invalid("events[\(index)]: must be one of \(allowed), not '\(name.prefix(64))'")
            }
            events.insert(event)
        }
        return events
    }

    /// 16 to 256 printable ASCII characters: enough to be unguessable, and sendable in any
    /// configuration file.
    static func checkSecret(_ secret: String) throws -> String {
        guard (16...256).contains(secret.utf8.count), secret.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.invalid("secret: must be 16 to 256 printable ASCII characters without spaces")
        }
        return secret
    }

    static func checkDescription(_ description: String?) throws -> String {
        guard let description else { return "" }
        guard description.count <= 500 else { throw APIError.invalid("description: must be at most 500 characters") }
        return description
    }

    /// `whsec_` and 43 URL-safe base64 characters (32 random bytes).
    static func generatedSecret() -> String {
        "whsec_" + APIToken.generate().dropFirst(4)
    }

    /// `wh_` and 16 hex digits.
    static func generatedID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt64.random(in: .min ... .max, using: &generator)
        let hex = String(value, radix: 16)
        return "wh_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
