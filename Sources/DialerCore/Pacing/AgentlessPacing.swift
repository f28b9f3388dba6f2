/// Agentless (IVR) mode: calls play a message or run an IVR, so capacity is a number of ports.
///
/// Calls wanted = ports − calls holding a port (dialing, answered, or in the IVR). Agents play
/// no part; only the five-second cap and the contacts left bound it further.
///
/// `dialLevel` in the decision is the fraction of ports in use.
public struct AgentlessPacing: PacingPolicy {
    /// The products' documented range of IVR ports per campaign.
    public static let portRange: ClosedRange<Int> = 1...1000

    /// Ports (simultaneous calls) the campaign may use.
    public let ports: Int

    /// - Precondition: `ports` is in ``portRange`` (the configuration validates it).
    public init(ports: Int) {
        precondition(Self.portRange.contains(ports), "agentless ports out of range")
        self.ports = ports
    }

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let calls = input.calls
        let inUse = calls.dialing + calls.classifying + calls.answeredWaiting + calls.inIVR
        let wanted = ports - inUse
        let caps = PacingCaps(limits: input.limits)
        let (count, reason) = caps.apply(wanted, otherwise: wanted > 0 ? .dialing : .enoughInFlight)
        return PacingDecision(
            callsToStart: count,
            reason: reason,
            dialLevel: dialLevel(lines: inUse + count, per: Double(ports))
        )
    }
}
