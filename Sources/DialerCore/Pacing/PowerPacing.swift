/// Power mode: a fixed number of lines per ready agent plus per agent in wrap-up.
///
/// Lines wanted = ⌊ready × `callsPerReadyAgent` + wrap-up × `callsPerWrapUpAgent`⌋ − calls in
/// flight (dialing or answered and waiting), never below 0. The wrap-up share lets calls ring
/// while agents finish their notes, which is where power mode gains over progressive.
///
/// `dialLevel` in the decision is lines per ready-or-wrap-up agent.
public struct PowerPacing: PacingPolicy {
    /// Lines per available agent (e.g. 1.7).
    public let callsPerReadyAgent: Double
    /// Lines per agent in wrap-up (e.g. 0.1).
    public let callsPerWrapUpAgent: Double

    /// Creates the policy; negative ratios are taken as 0.
    public init(callsPerReadyAgent: Double, callsPerWrapUpAgent: Double = 0) {
        self.callsPerReadyAgent = max(0, callsPerReadyAgent)
        self.callsPerWrapUpAgent = max(0, callsPerWrapUpAgent)
    }

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let calls = input.calls
        guard agents.staffed > 0 else {
            return PacingDecision(callsToStart: 0, reason: .noAgents, dialLevel: 0)
        }
        let ready = agents.available.count
        let wrapUp = agents.wrapUp.count
        let target = PacingCaps.floorCount(
            Double(ready) * callsPerReadyAgent + Double(wrapUp) * callsPerWrapUpAgent
        )
        let wanted = target - calls.awaitingAgent
        var caps = PacingCaps(limits: input.limits)
        caps.addAgentLimits(
            limits: input.limits,
            agents: agents,
            dialing: calls.dialing,
            agentBase: Double(ready + wrapUp)
        )
        let (count, reason) = caps.apply(wanted, otherwise: wanted > 0 ? .dialing : .enoughInFlight)
        return PacingDecision(
            callsToStart: count,
            reason: reason,
            dialLevel: dialLevel(lines: calls.dialing + count, per: Double(ready + wrapUp))
        )
    }
}
