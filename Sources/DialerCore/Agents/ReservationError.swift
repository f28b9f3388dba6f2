/// Why an operation on an agent session or the reservation book was refused.
///
/// A refused operation changes nothing. These are answers to the caller (an agent's desktop or a
/// node), distinct from a request's `rejected` answer: a well-formed request is always answered
/// with an action, a malformed one (a duplicate id) is refused with an error.
public enum ReservationError: Error, Hashable, Sendable {
    /// The operation makes no sense in the agent's current state.
    case notAllowed(AgentOperation, AgentState)
    /// No session for this agent (never logged in).
    case unknownAgent(AgentID)
    /// The book holds no request with this id (never seen, or already finished).
    case unknownRequest(RequestID)
    /// A request with this id is still held (pending, granted or connected).
    case duplicateRequest(RequestID)
    /// The request is pending (or offered): there is no grant to confirm or release yet.
    case requestNotGranted(RequestID)
    /// The request's call is already connected: end the call instead.
    case requestConnected(RequestID)
    /// The message carried an older epoch than the one the book holds for the queue.
    case staleEpoch(QueueID, current: Epoch, received: Epoch)
    /// Two owners claimed the same epoch of a queue.
    case epochConflict(QueueID, Epoch, owner: MemberID, claimant: MemberID)
    /// The agent answered an offer that is not the one they are shown.
    case noSuchOffer(AgentID, RequestID)
    /// A duration that must not be negative was negative.
    case negativeDuration(Duration)
}
