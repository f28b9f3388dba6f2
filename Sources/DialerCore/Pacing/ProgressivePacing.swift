/// Progressive mode: an agent is reserved first, then `dialRate` lines are placed for them;
/// the first live answer is connected.
///
/// Lines wanted = reserved agents × `dialRate` − calls already in flight for them (dialing or
/// answered and waiting). Every available agent is to be reserved, within the contacts left.
/// No call is ever started without an agent already waiting for it, so progressive dialing
/// abandons only when more than one of an agent's lines answers.
///
/// `dialLevel` in the decision is lines per reserved agent.
public struct ProgressivePacing: PacingPolicy {
    /// The modes' documented range of lines per reserved agent.
    public static let dialRateRange: ClosedRange<Int> = 1...10

    /// Lines placed per reserved agent.
    public let dialRate: Int

    /// - Precondition: `dialRate` is in ``dialRateRange`` (the configuration validates it).
    public init(dialRate: Int = 1) {
        precondition(Self.dialRateRange.contains(dialRate), "progressive dial rate out of range")
        self.dialRate = dialRate
    }

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let calls = input.calls
        guard agents.staffed > 0 else {
            return PacingDecision(callsToStart: 0, reason: .noAgents, dialLevel: 0)
        }
        let wanted = agents.reserved * dialRate - calls.awaitingAgent
        var caps = PacingCaps(limits: input.limits)
        caps.addAgentLimits(
            limits: input.limits,
            agents: agents,
            dialing: calls.dialing,
            agentBase: Double(agents.reserved)
        )
        let (count, capReason) = caps.apply(wanted, otherwise: .dialing)

        // Reserve only as many agents as the contacts left can feed.
        let contactsLeft = max(0, input.limits.remainingContacts - count)
        let feedable = contactsLeft / dialRate + (contactsLeft % dialRate == 0 ? 0 : 1)
        let reservations = min(agents.available.count, feedable)

        let reason: PacingReason =
            if count > 0 || wanted > 0 {
                capReason
            } else if reservations > 0 {
                .reservingAgents
            } else if agents.available.count > 0 {
                .noContacts
            } else {
                .enoughInFlight
            }
        return PacingDecision(
            callsToStart: count,
            reservationsToRequest: reservations,
            reason: reason,
            dialLevel: dialLevel(lines: calls.dialing + count, per: Double(agents.reserved))
        )
    }
}
