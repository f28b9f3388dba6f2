/// A dialing mode's rule for how many calls to start for one queue.
///
/// Policies are values: the queue runner holds one per queue, calls ``decide(_:)`` whenever
/// the picture changes (and on a short tick), starts the calls it is told to, and asks the
/// gateway for the agent reservations it is told to. A policy may keep state between calls
/// (the VICIdial baseline keeps its dial level), which is why `decide` is mutating; it never
/// performs I/O or reads a clock, so the same value runs in the product and in the simulator.
public protocol PacingPolicy: Sendable {
    /// How many new calls to start now for this queue.
    mutating func decide(_ input: PacingInput) -> PacingDecision
}

/// What a pacing policy decided.
public struct PacingDecision: Sendable, Hashable {
    /// New calls to start now. Never negative, never above the campaign's caps.
    public var callsToStart: Int
    /// Agent reservations to ask the gateway for now (preview offers, progressive agents).
    /// Modes that reserve an agent only when a call is answered always say 0.
    public var reservationsToRequest: Int
    /// Why the count is what it is, for metrics and logs.
    public var reason: PacingReason
    /// The dial level after this decision: lines dialing per agent the policy dials for
    /// (each policy documents its denominator). For metrics only.
    public var dialLevel: Double

    /// Creates a decision; a negative count is taken as 0.
    public init(callsToStart: Int, reservationsToRequest: Int = 0, reason: PacingReason, dialLevel: Double) {
        self.callsToStart = max(0, callsToStart)
        self.reservationsToRequest = max(0, reservationsToRequest)
        self.reason = reason
        self.dialLevel = dialLevel.isFinite ? max(0, dialLevel) : 0
    }
}

/// A short reason for a pacing decision, suitable as a metric label (a fixed set of values).
public enum PacingReason: Hashable, Sendable {
    /// Calls are being started and nothing limited their number.
    case dialing
    /// The calls already in flight cover what the policy wants.
    case enoughInFlight
    /// No agent is staffed (all logged out or paused).
    case noAgents
    /// Preview mode: offers are requested for available agents; calls follow their accepts.
    case previewOffers
    /// Progressive mode: agents are being reserved; lines follow the reservations.
    case reservingAgents
    /// Predictive mode has measured too little to predict and dials one line per free agent.
    case warmingUp
    /// The abandon budget of the rolling window is used up: only calls certain to find an
    /// agent may start.
    case abandonBudgetExhausted
    /// The policy wanted more calls than a limit allows.
    case capped(PacingCap)
    /// No contact is left to dial.
    case noContacts
}

/// The limit that bounded a pacing decision.
public enum PacingCap: Hashable, Sendable {
    /// The campaign's cap of new attempts per five seconds.
    case fiveSecondCap
    /// The maximum lines per agent.
    case maximumDialRate
    /// The overdial limit that applies while all agents talk.
    case overdialLimit
    /// The contacts left to dial.
    case remainingContacts
    /// The expected abandons allowed by the target abandon rate (predictive).
    case abandonLimit
}

/// The limits a policy applies, collected so that the tightest one names the reason.
struct PacingCaps {
    private(set) var entries: [(cap: PacingCap, maximum: Int)] = []

    /// The five-second cap and the remaining contacts: they bound every mode.
    init(limits: PacingLimits) {
        if let perSlot = limits.attemptsPerFiveSeconds {
            add(.fiveSecondCap, perSlot - limits.attemptsInCurrentFiveSeconds)
        }
        add(.remainingContacts, limits.remainingContacts)
    }

    /// Adds the dial-rate and overdial limits of modes that dial for agents.
    ///
    /// - Parameters:
    ///   - dialing: lines already dialing; both limits count lines, not new calls.
    ///   - agentBase: the agents the policy dials for (the dial rate's denominator).
    ///   - maximumDialRate: the policy's own maximum, combined with the campaign's.
    ///   - overdialPercent: the policy's own overdial limit, combined with the campaign's.
    mutating func addAgentLimits(
        limits: PacingLimits,
        agents: AgentPicture,
        dialing: Int,
        agentBase: Double,
        maximumDialRate: Double? = nil,
        overdialPercent: Double? = nil
    ) {
        if let rate = Self.tightest(limits.maximumDialRate, maximumDialRate) {
            add(.maximumDialRate, Self.floorCount(rate * max(0, agentBase)) - dialing)
        }
        // "When all agents talk": nobody is available and nobody is waiting for a line.
        if agents.available.isEmpty, agents.reserved == 0,
            let percent = Self.tightest(limits.overdialLimitPercent, overdialPercent)
        {
            add(.overdialLimit, Self.floorCount(percent / 100 * Double(agents.busy)) - dialing)
        }
    }

    mutating func add(_ cap: PacingCap, _ maximum: Int) {
        entries.append((cap, max(0, maximum)))
    }

    /// The largest count every limit allows.
    var maximum: Int { entries.map(\.maximum).min() ?? .max }

    /// Clamps `wanted` to the limits; `reason` stands when no limit bit.
    func apply(_ wanted: Int, otherwise reason: PacingReason) -> (count: Int, reason: PacingReason) {
        let wanted = max(0, wanted)
        var count = wanted
        var binding: PacingCap?
        for entry in entries where entry.maximum < count {
            count = entry.maximum
            binding = entry.cap
        }
        guard let binding else { return (count, reason) }
        // A contact shortage is a state of the list, not a pacing limit: say so plainly.
        if binding == .remainingContacts, count == 0 { return (0, .noContacts) }
        return (count, .capped(binding))
    }

    private static func tightest(_ a: Double?, _ b: Double?) -> Double? {
        switch (a, b) {
        case (let a?, let b?): min(a, b)
        case (let a?, nil): a
        case (nil, let b?): b
        case (nil, nil): nil
        }
    }

    /// Floor of a non-negative count, saturating instead of trapping on huge values.
    static func floorCount(_ value: Double) -> Int {
        guard value.isFinite else { return value > 0 ? .max : 0 }
        if value <= 0 { return 0 }
        if value >= Double(Int.max / 2) { return Int.max / 2 }
        // A tiny epsilon keeps 1.7 × 10 = 16.999999... from flooring to 16.
        return Int((value + 1e-9).rounded(.down))
    }
}

/// `numerator / denominator` for dial-level metrics, 0 when there is no denominator.
func dialLevel(lines: Int, per denominator: Double) -> Double {
    denominator > 0 ? Double(lines) / denominator : 0
}
