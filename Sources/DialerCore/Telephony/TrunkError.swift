/// Why a trunk refused an operation.
///
/// None of these carries a phone number, so they can be logged as they are.
public enum TrunkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every channel of the trunk is in use; the call was not placed.
    case channelCapacityExhausted(channels: Int)
    /// The carrier refused the call: more calls were started in the last second than it
    /// accepts. The call was not placed.
    case callsPerSecondExceeded(limit: Int)
    /// The trunk does not know the call: it never existed, or it has ended.
    case unknownCall(CallID)
    /// The call's state does not allow the operation (see ``CallLegStateMachine``).
    case operationNotAllowed(CallID, CallOperation, state: CallLegState)
    /// The trunk has been shut down.
    case closed
    /// The trunk cannot perform the operation at all (a SIP trunk without a media layer cannot
    /// bridge or play); `reason` says why.
    case unsupported(CallOperation, reason: String)

    public var description: String {
        switch self {
        case .channelCapacityExhausted(let channels): "all \(channels) channels are in use"
        case .callsPerSecondExceeded(let limit): "the carrier accepts at most \(limit) calls per second"
        case .unknownCall(let id): "unknown call \(id) (it may have ended)"
        case .operationNotAllowed(let id, let operation, let state):
            "call \(id): \(operation) is not allowed in state \(state)"
        case .closed: "the trunk is shut down"
        case .unsupported(let operation, let reason): "\(operation) is not supported: \(reason)"
        }
    }
}
