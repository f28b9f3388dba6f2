public import FoundationEssentials

/// What a webhook subscription can hear about.
public enum WebhookEvent: String, CaseIterable, Codable, Sendable, Hashable {
    /// An agent's disposition was recorded for an attempt.
    case disposition
    /// The last contact of a campaign's list that could still be dialed became final: every
    /// contact is done (none fresh, scheduled or in an attempt).
    case campaignListExhausted = "campaign.list_exhausted"
}

/// A receiver of webhooks: where to post, which events, and the secret deliveries are signed
/// with (kept in the store, since signing needs it; shown only when created).
public struct WebhookSubscription: Sendable, Hashable {
    public var id: String
    public var url: String
    public var events: Set<WebhookEvent>
    public var secret: String
    public var description: String
    /// An inactive subscription queues nothing new; what is queued is still delivered.
    public var active: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, url: String, events: Set<WebhookEvent>, secret: String, description: String = "",
        active: Bool = true, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.events = events
        self.secret = secret
        self.description = description
        self.active = active
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Where a delivery stands.
public enum WebhookDeliveryState: String, CaseIterable, Codable, Sendable {
    /// Not yet accepted by the receiver; tried again at its next attempt.
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// Given up: the receiver did not accept it within the retry period.
    case failed
}

/// A delivery due now, with what it takes to send it.
public struct WebhookDueDelivery: Sendable, Hashable {
    public var id: Int64
    public var subscription: String
    public var url: String
    public var secret: String
    public var eventID: String
    public var payload: String
    /// Tries so far.
    public var attempts: Int
    public var createdAt: Date
}

/// The result of one try, as the worker records it.
public struct WebhookTryRecord: Sendable, Hashable {
    public var delivery: Int64
    public var at: Date
    public var status: Int?
    public var error: String?
    public var durationMilliseconds: Int
    /// Delivered (2xx).
    public var delivered: Bool
    /// When to try again; nil with `delivered` false: given up.
    public var nextAttemptAt: Date?
}

/// One try in the delivery log.
public struct WebhookTry: Sendable, Hashable {
    public var attempt: Int
    public var at: Date
    public var status: Int?
    public var error: String?
    public var durationMilliseconds: Int
}

/// A delivery in the log.
public struct WebhookDeliveryRecord: Sendable, Hashable {
    public var id: Int64
    public var subscription: String
    public var eventID: String
    public var event: WebhookEvent
    public var payload: String
    public var state: WebhookDeliveryState
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var tries: [WebhookTry]
}

/// Webhook subscriptions and their durable outbox.
public protocol WebhookStore: Sendable {
    /// - Throws: ``StoreError/alreadyExists(_:)`` when the id is taken.
    func createWebhook(_ subscription: WebhookSubscription) async throws
    /// Replaces the subscription's settings (not its id or creation).
    ///
    /// - Throws: ``StoreError/notFound(_:)``.
    func updateWebhook(_ subscription: WebhookSubscription) async throws
    /// Deletes the subscription and its deliveries; `false` when there is none.
    func deleteWebhook(id: String) async throws -> Bool
    func webhook(id: String) async throws -> WebhookSubscription?
    /// Every subscription, by id.
    func webhooks() async throws -> [WebhookSubscription]
    /// Up to `limit` pending deliveries due at `now`, oldest due first, leaving out
    /// `excluding` (being sent), and the earliest due time of the pending others.
    func dueWebhookDeliveries(now: Date, excluding: Set<Int64>, limit: Int) async throws
        -> (due: [WebhookDueDelivery], nextDueAt: Date?)
    /// Records a try, and the delivery's new state.
    func recordWebhookTry(_ record: WebhookTryRecord) async throws
    /// A subscription's deliveries, newest first, before `before` (an id), with their tries.
    func webhookDeliveries(subscription: String, state: WebhookDeliveryState?, before: Int64?, limit: Int)
        async throws -> [WebhookDeliveryRecord]
}
