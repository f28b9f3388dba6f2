/// Whether a queue carries customers who called in or calls the dialer places for a campaign.
public enum QueueKind: String, Hashable, Sendable, CaseIterable {
    /// Customers who called the contact center and are waiting on the line.
    case inbound
    /// A campaign's system queue, fed by the dialer.
    case campaign

    /// The rank a queue of this kind gets when the ranking does not say otherwise.
    ///
    /// Inbound ranks above campaigns because an inbound customer is already waiting,
    /// while a campaign can always dial a little later.
    public var defaultRank: Int {
        switch self {
        case .inbound: 1
        case .campaign: 2
        }
    }
}

/// The queues an agent may serve, each with a rank: a lower number is a higher priority.
///
/// The ranking is data, not code: when an agent becomes available, the pending request in the
/// queue with the lowest rank number goes first. Equal ranks fall back to the oldest request.
public struct AgentSkills: Hashable, Sendable, CustomStringConvertible {
    /// The rank of each queue the agent may serve.
    public private(set) var ranks: [QueueID: Int]

    /// Skills with the given rank per queue.
    public init(_ ranks: [QueueID: Int] = [:]) {
        self.ranks = ranks
    }

    /// Skills ranked by queue kind: inbound queues above campaign queues.
    ///
    /// Use this when an agent group has no explicit ranking; to put a campaign queue above an
    /// inbound one, pass explicit ranks to ``init(_:)`` instead.
    public static func defaultRanks(_ kinds: [QueueID: QueueKind]) -> AgentSkills {
        AgentSkills(kinds.mapValues(\.defaultRank))
    }

    /// The agent's rank for `queue`, or `nil` when the agent is not skilled for it.
    public func rank(for queue: QueueID) -> Int? {
        ranks[queue]
    }

    /// Whether the agent may serve `queue`.
    public func serves(_ queue: QueueID) -> Bool {
        ranks[queue] != nil
    }

    /// The queues the agent may serve, best rank first (ties by queue id, so the order is stable).
    public var queuesByRank: [QueueID] {
        ranks.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key)
    }

    /// Sets the rank for `queue`, or removes the skill when `rank` is `nil`.
    public mutating func setRank(_ rank: Int?, for queue: QueueID) {
        ranks[queue] = rank
    }

    public var description: String {
        queuesByRank.map { "\($0)#\(ranks[$0]!)" }.joined(separator: ",")
    }
}
