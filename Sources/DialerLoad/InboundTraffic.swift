public import DialerSimulation

/// The simulated carrier of a cluster the demo or the load tester starts: the callers of the
/// inbound queues' numbers and the carrier's caps, written as the nodes' trunk population
/// (`cluster.trunk_population`, `Sources/DialerSimulation/Trunk/POPULATION.md`).
public enum TrunkPlan {
    /// The number (DID) of the `index`-th inbound queue: `+18005550100`, `+18005550101` ...
    /// Neither a contact of a generated list (`+813…`) nor a made-up caller (`+1555…`), so that
    /// no caller is mistaken for a contact and routed to a campaign.
    public static func did(_ index: Int) -> String {
        "+180055" + String(50_100 + index)
    }

    /// How long an inbound caller holds on for an agent, in call time. Callers who chose to
    /// call wait far longer than the few seconds an answered outbound customer gives (the
    /// population's `patienceSeconds`, which drives the 2-second abandon rule).
    public static let callerPatience = SimulatedTrunk.Population.Distribution.logNormal(
        mean: 90, standardDeviation: 60)

    /// The carrier's caps sized so that it is not the limit of a run: `channels` for each agent
    /// on a call and five more lines dialing for it (a predictive dial level rarely passes 3)
    /// plus the inbound callers, and `callsPerSecond` (of call time) two per agent, more than a
    /// line can turn over. The built-in 100 channels and 10 calls/s refuse most calls of a floor
    /// of thousands; never below them.
    ///
    /// - Parameters:
    ///   - agents: the synthetic agents of the run.
    ///   - inboundCallsPerMinute: the arrivals of every inbound number together, in call time.
    public static func capacity(agents: Int, inboundCallsPerMinute: Double) -> (channels: Int, callsPerSecond: Int) {
        // Callers hold a channel while waiting and talking: arrivals × (patience + talk), with
        // room for the long tails of both.
        let inboundChannels = Int((inboundCallsPerMinute / 60 * (2 * 90 + 2 * 150)).rounded(.up))
        let defaults = SimulatedTrunk.Population()
        return (
            max(defaults.channels, agents * 6 + inboundChannels),
            max(defaults.callsPerSecond, agents * 2 + Int((inboundCallsPerMinute / 60).rounded(.up)))
        )
    }

    /// The population: the built-in customers, one inbound line per number at
    /// `callsPerMinute` each (call time), the carrier's caps, and `seed` (each node mixes in
    /// its id).
    public static func population(
        dids: [String], callsPerMinute: Double, channels: Int, callsPerSecond: Int, seed: UInt64
    ) -> SimulatedTrunk.Population {
        SimulatedTrunk.Population(
            seed: seed,
            inbound: callsPerMinute > 0
                ? dids.map { .init(did: $0, callsPerHour: callsPerMinute * 60, patienceSeconds: callerPatience) } : [],
            channels: channels, callsPerSecond: callsPerSecond)
    }
}

/// The inbound calls of a run, from the nodes' `dialer_node_inbound_calls_total{queue,outcome}`
/// counters: what happened to the callers whose wait ended (an agent took them, they hung up
/// first, or the call was gone before the node could answer it).
public struct InboundTraffic: Codable, Hashable, Sendable {
    /// Callers the nodes answered whose wait ended during the run: ``taken`` + ``abandoned`` +
    /// ``missed``. Callers refused by the carrier for lack of channels never reach a node, and
    /// callers still waiting at the end are not counted.
    public var arrived: Int
    /// Callers bridged to an agent.
    public var taken: Int
    /// Callers who hung up before an agent took them.
    public var abandoned: Int
    /// Calls gone before the node could answer them.
    public var missed: Int
    /// Of ``taken``: callers routed to a campaign (an open contact calling back, or a hotline
    /// call); each is also an attempt in that campaign's report.
    public var takenForCampaigns: Int
    /// ``abandoned`` over ``arrived``.
    public var abandonRate: Double?
    /// Counts by queue (the queue that served the caller) and outcome.
    public var byQueue: [String: [String: Int]]
    /// The arrival rate of each inbound number in calls per minute of call time, when this run
    /// configured the callers (a cluster it started).
    public var callsPerMinute: Double?
    /// The arrivals the rate gives over the counted time (Poisson), when it is known.
    public var expectedArrivals: Double?
    public var source: String

    /// The calls counted by `end` and not yet by `start` (cumulative counter texts of every node,
    /// concatenated), on `queues`. `campaignQueues` are the queues of outbound campaigns.
    public init(
        start: String, end: String, queues: Set<String>, campaignQueues: Set<String>, source: String
    ) {
        let before = Self.counts(in: start, queues: queues)
        var byQueue: [String: [String: Int]] = [:]
        for (queue, outcomes) in Self.counts(in: end, queues: queues) {
            for (outcome, count) in outcomes {
                // A counter that went backwards belongs to a restarted node: count from zero.
                let difference =
                    count >= (before[queue]?[outcome] ?? 0) ? count - (before[queue]?[outcome] ?? 0) : count
                if difference > 0 { byQueue[queue, default: [:]][outcome] = difference }
            }
        }
        func total(_ outcome: String, where include: (String) -> Bool = { _ in true }) -> Int {
            byQueue.filter { include($0.key) }.reduce(0) { $0 + ($1.value[outcome] ?? 0) }
        }
        taken = total("connected")
        abandoned = total("abandoned")
        missed = total("missed")
        arrived = byQueue.values.reduce(0) { $0 + $1.values.reduce(0, +) }
        takenForCampaigns = total("connected") { campaignQueues.contains($0) }
        abandonRate = arrived > 0 ? Double(abandoned) / Double(arrived) : nil
        self.byQueue = byQueue
        callsPerMinute = nil
        expectedArrivals = nil
        self.source = source
    }

    /// `dialer_node_inbound_calls_total` by queue and outcome, added over the nodes.
    static func counts(in text: String, queues: Set<String>) -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for (labels, value) in PrometheusText.samples("dialer_node_inbound_calls_total", in: text) {
            let parsed = PrometheusText.labels(labels)
            guard let queue = parsed["queue"], let outcome = parsed["outcome"], queues.contains(queue) else { continue }
            counts[queue, default: [:]][outcome, default: 0] += Int(value.rounded())
        }
        return counts
    }

    /// One line: `arrived 40, taken 35, abandoned 5 (12.5 %), missed 0`.
    public var line: String {
        let rate = abandonRate.map { String(format: " (%.1f %%)", $0 * 100) } ?? ""
        return "arrived \(arrived), taken \(taken), abandoned \(abandoned)\(rate), missed \(missed)"
    }
}
