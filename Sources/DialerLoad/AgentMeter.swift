import DialerCore
public import DialerSimulation
import Histogram
import Synchronization

/// Collects what synthetic agents report: the round trip of each operation they send to the
/// gateway (HdrHistogram, microseconds), the refusals by code, and the calls they were
/// connected to by queue. Called from every agent's task at once.
///
/// Each agent's session start (its login and every operation up to its first set-ready
/// answered) is told apart from its work after it: when every agent logs in at once, the
/// start's operations wait behind the whole floor's logins, which the login burst figure
/// measures; the working figure is what an agent on the floor sees.
public final class AgentMeter: Sendable {
    private struct State {
        var all = makeLatencyHistogram()
        var byOperation: [String: Histogram<UInt64>] = [:]
        /// Operations after the agent's first set-ready answered.
        var working = makeLatencyHistogram()
        /// Agents whose first set-ready was answered.
        var started: Set<String> = []
        var refusals: [String: Int] = [:]
        var callsByQueue: [String: Int] = [:]
        var reconnections = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Takes one agent's event.
    public func observe(_ login: String, _ event: SyntheticAgent.Event) {
        switch event {
        case .answered(let operation, let roundTrip):
            let microseconds = UInt64(max(0, roundTrip.totalNanoseconds / 1000))
            state.withLock { state in
                _ = state.all.record(microseconds)
                _ = state.byOperation[operation, default: makeLatencyHistogram()].record(microseconds)
                if state.started.contains(login) {
                    _ = state.working.record(microseconds)
                } else if operation == Self.setReady {
                    state.started.insert(login)
                }
            }
        case .refused(let operation, let code, _):
            state.withLock { $0.refusals["\(operation): \(code)", default: 0] += 1 }
        case .disconnected:
            state.withLock { $0.refusals["disconnected", default: 0] += 1 }
        case .connected(_, let queue):
            state.withLock { $0.callsByQueue[queue, default: 0] += 1 }
        case .reconnected:
            state.withLock { $0.reconnections += 1 }
        case .offered, .contactShown:
            break
        }
    }

    /// Round trips of every operation.
    public func roundTrips(source: String) -> LatencySummary {
        LatencySummary(microseconds: state.withLock { $0.all }, source: source)
    }

    /// Round trips of the operations each agent sent after its first set-ready was answered.
    public func workingRoundTrips(source: String) -> LatencySummary {
        LatencySummary(microseconds: state.withLock { $0.working }, source: source)
    }

    private static let setReady = "agent_set_ready"

    /// Agents whose first set-ready was answered: their session start is over.
    public var startedAgents: Int { state.withLock { $0.started.count } }

    /// Round trips by operation name (`agent_set_ready`, `agent_disposition` ...).
    public func roundTripsByOperation(source: String) -> [String: LatencySummary] {
        state.withLock { $0.byOperation }.mapValues { LatencySummary(microseconds: $0, source: source) }
    }

    /// Calls the agents were connected to, by the queue of the reservation: an inbound caller
    /// counts on the line's queue even when the manager routed the call to a campaign.
    public var callsByQueue: [String: Int] { state.withLock { $0.callsByQueue } }

    /// Times an agent connected again after its connection ended (a gateway restart ...).
    public var reconnections: Int { state.withLock { $0.reconnections } }

    /// Refused operations and lost connections, by `operation: code`.
    public var refusals: [String: Int] { state.withLock { $0.refusals } }
}
