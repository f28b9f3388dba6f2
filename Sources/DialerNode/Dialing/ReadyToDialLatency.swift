import DialerCore
import DialerProtocol
import Metrics

/// Measures how long an agent who turns ready waits for the node's pacing to take them into
/// account: `dialer_node_ready_to_dial_decision_seconds`, in wall time.
///
/// The gateway's picture gives each available agent's time available when it was taken; for an
/// agent who was not available in the previous picture, that time plus the runner's handling of
/// the picture is the wait from "ready" to the pacing decision made on it. The gateway-to-node
/// transit is not included: the picture carries no send time that two hosts' clocks could
/// compare.
struct ReadyToDialLatency {
    private var availableBefore: Set<String> = []
    private let timer: Timer

    init(queue: QueueID) {
        timer = Timer(label: "dialer_node_ready_to_dial_decision_seconds", dimensions: [("queue", queue.rawValue)])
    }

    /// Records the newly ready agents of `picture`, which the runner handled in `handling`.
    mutating func record(_ picture: Dialer_V1_QueuePictureUpdate, handling: Duration) {
        var available: Set<String> = []
        // Sized once: grown insert by insert, a floor's set rehashed itself a dozen times a picture.
        available.reserveCapacity(picture.available.count)
        for agent in picture.available {
            available.insert(agent.agent)
            guard !availableBefore.contains(agent.agent) else { continue }
            let wait = Duration.milliseconds(Int64(agent.elapsedMs)) + handling
            timer.recordNanoseconds(wait.totalNanoseconds)
        }
        availableBefore = available
    }
}
