/// Preview mode: the agent sees the contact first and the call is placed on their accept.
///
/// The policy never starts calls by itself: the runner dials when an agent accepts an offer.
/// What it decides is how many offers (agent reservations with a contact attached) to
/// request: one for each available agent, so that every free agent is looking at a contact,
/// and never more than there are contacts to show.
public struct PreviewPacing: PacingPolicy {
    /// Creates the policy.
    public init() {}

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        guard agents.staffed > 0 else {
            return PacingDecision(callsToStart: 0, reason: .noAgents, dialLevel: 0)
        }
        let wanted = agents.available.count
        // Offers are bounded by contacts only: the five-second cap counts attempts, and an
        // offer is not an attempt until the agent accepts it.
        let offers = min(wanted, input.limits.remainingContacts)
        let reason: PacingReason =
            if wanted == 0 {
                .enoughInFlight
            } else if offers == 0 {
                .noContacts
            } else if offers < wanted {
                .capped(.remainingContacts)
            } else {
                .previewOffers
            }
        return PacingDecision(callsToStart: 0, reservationsToRequest: offers, reason: reason, dialLevel: 0)
    }
}
