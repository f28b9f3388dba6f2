public import DialerCore

/// Tells the parts of the manager that push state to the cluster that something they push has
/// changed: the API calls it after each write to agents, teams or campaigns; the cluster side
/// listens and pushes the agent directory to gateways and new campaign revisions to nodes.
///
/// Each listener gets every change made after it subscribed; a slow listener keeps only the
/// newest (a change is a hint to re-read the store, so coalescing loses nothing).
public actor ManagerChanges {
    /// What changed.
    public enum Change: Hashable, Sendable {
        /// Agents, teams or their skills: the agent directory must be sent again.
        case agents
        /// A campaign's settings, status or dispositions.
        case campaign(CampaignID)
    }

    private var listeners: [Int: AsyncStream<Change>.Continuation] = [:]
    private var nextListener = 0
    /// Grows with every agent or team change; the directory's version.
    public private(set) var agentsVersion: UInt64 = 1
    /// Grows with every change of the campaign; its revision as nodes see it.
    private var campaignRevisions: [CampaignID: UInt64] = [:]

    public init() {}

    /// Records a change and tells every listener.
    public func changed(_ change: Change) {
        switch change {
        case .agents: agentsVersion += 1
        case .campaign(let id): campaignRevisions[id, default: 1] += 1
        }
        for continuation in listeners.values { continuation.yield(change) }
    }

    /// The campaign's current revision (1 until it first changes).
    public func revision(of campaign: CampaignID) -> UInt64 {
        campaignRevisions[campaign, default: 1]
    }

    /// The changes made from now on, until the stream is dropped.
    public func subscribe() -> AsyncStream<Change> {
        let (stream, continuation) = AsyncStream.makeStream(of: Change.self, bufferingPolicy: .bufferingNewest(64))
        let id = nextListener
        nextListener += 1
        listeners[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        listeners[id] = nil
    }
}
