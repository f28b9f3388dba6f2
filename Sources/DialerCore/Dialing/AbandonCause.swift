/// Why a live answer was abandoned: not connected to an agent within the grace after the
/// greeting.
///
/// Every abandon the runner produces carries one, so that a supervisor can tell the abandons
/// pacing chose to risk (``noAgentFree``) from those the cluster caused (latency, detection,
/// a lost gateway) and act on the right one.
public enum AbandonCause: String, Hashable, Sendable, CaseIterable, Codable {
    /// The gateway had no agent free for the caller before the deadline: pacing dialed more
    /// calls than agents freed (overdial). The only cause pacing plans for.
    case noAgentFree = "no-agent-free"
    /// The deadline passed before the gateway answered the request (no agent yet, or an answer
    /// still on its way).
    case deadlinePassed = "deadline-passed"
    /// An agent was granted, but only after the deadline had passed: latency between the node
    /// and the gateway, not a shortage of agents.
    case grantedLate = "granted-late"
    /// Answering-machine detection reported the live answer at or after the deadline.
    case classifiedLate = "classified-late"
    /// The customer hung up within the grace, before an agent came.
    case customerHungUp = "customer-hung-up"
    /// The gateway could not be asked (no connection), or it refused the request.
    case gatewayUnavailable = "gateway-unavailable"
    /// The queue's lease lapsed or was drained while the caller waited, so no agent could be
    /// asked for.
    case leaseLost = "lease-lost"
}

/// How the gateway came to answer a request without an agent, as the runner needs to know it.
public enum AgentRefusal: Hashable, Sendable {
    /// No eligible agent became free before the request's deadline.
    case noAgentFree
    /// The gateway refused the request (a stale epoch, a cancelled request ...).
    case refused
    /// The connection to the gateway dropped before the answer, or there was none.
    case unreachable
}
