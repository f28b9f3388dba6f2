public import DialerCore

/// What a queue runner shows of its pacing: the last decision and its counts so far.
public struct PacingState: Sendable, Hashable {
    /// The last decision, `nil` before the first.
    public var decision: PacingDecision?
    /// Calls the runner asked the trunk to place since it started.
    public var attemptsStarted: Int
    /// Calls not yet ended.
    public var callsInFlight: Int

    public init(decision: PacingDecision?, attemptsStarted: Int, callsInFlight: Int) {
        self.decision = decision
        self.attemptsStarted = attemptsStarted
        self.callsInFlight = callsInFlight
    }
}

/// One pacing report for the manager's live panel (the cluster protocol's `PacingReport`).
public struct PacingSample: Sendable, Hashable {
    public var reason: String
    public var callsToStart: Int
    public var reservationsToRequest: Int
    public var dialLevel: Double
    public var callsInFlight: Int
    /// Calls started in the last 60 seconds of wall time (fewer seconds just after the start).
    public var attemptsLastMinute: Int
}

/// Decides when a queue's pacing is reported, from samples of its ``PacingState`` taken about
/// once a second: when the decision or the figures changed, and every ``refresh`` otherwise (so
/// that the manager sees a live queue's report stay fresh). A value: samples in, reports out.
public struct PacingPublisher: Sendable {
    /// Wall time between reports while nothing changes.
    public static let refresh: Duration = .seconds(5)
    /// The window of the dial rate.
    public static let window: Duration = .seconds(60)

    /// The attempts started so far at past samples (wall time since the runner started), oldest
    /// first, over the last ``window``.
    private var history: [(at: Duration, started: Int)] = []
    private var last: (at: Duration, sample: PacingSample)?

    public init() {}

    /// Takes a sample at `wall` (time since the runner started); returns the report to send, if any.
    public mutating func sample(_ state: PacingState, at wall: Duration) -> PacingSample? {
        history.append((wall, state.attemptsStarted))
        // Keep the newest sample at least a window old: the rate counts from there.
        while history.count > 1, wall - history[1].at >= Self.window { history.removeFirst() }
        let base = history.first?.started ?? state.attemptsStarted
        guard let decision = state.decision else { return nil }
        let sample = PacingSample(
            reason: decision.reason.name, callsToStart: decision.callsToStart,
            reservationsToRequest: decision.reservationsToRequest, dialLevel: decision.dialLevel,
            callsInFlight: state.callsInFlight, attemptsLastMinute: max(0, state.attemptsStarted - base))
        if let last, last.sample == sample, wall - last.at < Self.refresh { return nil }
        last = (wall, sample)
        return sample
    }
}
