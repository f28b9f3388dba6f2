public import DialerCore

/// Where a queue runner gets its contacts and sends its results: the manager's feeder over the
/// cluster protocol in a node, something in-process in tests and the simulator.
public protocol ContactSource: Sendable {
    /// Up to `count` contacts of the queue's campaign to dial now, each an open attempt;
    /// `exhausted` when the manager had fewer than asked.
    func contacts(queue: QueueID, epoch: Epoch, count: Int, presentAgents: [AgentID]) async throws
        -> (targets: [DialTarget], exhausted: Bool)
    /// Records how an attempt ended (idempotent by attempt at the receiver; the source keeps
    /// it until it is delivered).
    func report(_ attempt: DialedAttempt, queue: QueueID, epoch: Epoch) async
    /// Gives back a contact that was handed out but not dialed.
    func giveBack(_ target: DialTarget, queue: QueueID, epoch: Epoch) async
}

/// How the gateway answered a request for an agent.
public enum AgentAnswer: Hashable, Sendable {
    case granted(AgentID)
    /// No agent: none was free before the deadline, the gateway refused the request (stale
    /// epoch, cancelled ...), or it could not be reached.
    case notGranted(AgentRefusal)

    /// No agent was free before the deadline.
    public static let notGranted = AgentAnswer.notGranted(.noAgentFree)
}

/// Where a queue runner reserves agents: the agent gateway over the cluster protocol in a node.
///
/// The gateway's pushes (a revoked grant, an agent hanging up, a new queue picture) reach the
/// runner through ``QueueRunner/handle(_:)`` from whoever receives them.
public protocol AgentDesk: Sendable {
    /// Asks for an agent and waits for the answer (which may come late, up to the deadline).
    func request(_ draft: AgentRequestDraft, queue: QueueID, epoch: Epoch) async -> AgentAnswer
    /// The call to `target` is bridged to the granted agent (of a request made for `queue` under
    /// `epoch`); the agent is shown the target's contact and attempt.
    func confirm(_ request: RequestID, target: DialTarget, queue: QueueID, epoch: Epoch) async
    /// Gives a granted agent back without a call.
    func release(_ request: RequestID) async
    /// Withdraws a request.
    func cancel(_ request: RequestID) async
    /// The call ended; the agent goes to wrap-up.
    func callEnded(_ request: RequestID) async
}
