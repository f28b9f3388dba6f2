extension PacingReason {
    /// The reason as a short fixed text, as the live panel and the cluster protocol's
    /// `PacingReport` carry it: "dialing", "no-agents", "capped:five-second-cap" ...
    public var name: String {
        switch self {
        case .dialing: "dialing"
        case .enoughInFlight: "enough-in-flight"
        case .noAgents: "no-agents"
        case .previewOffers: "preview-offers"
        case .reservingAgents: "reserving-agents"
        case .warmingUp: "warming-up"
        case .abandonBudgetExhausted: "abandon-budget-exhausted"
        case .capped(let cap): "capped:\(cap.name)"
        case .noContacts: "no-contacts"
        }
    }
}

extension PacingCap {
    /// The limit as a short fixed text: "five-second-cap", "maximum-dial-rate" ...
    public var name: String {
        switch self {
        case .fiveSecondCap: "five-second-cap"
        case .maximumDialRate: "maximum-dial-rate"
        case .overdialLimit: "overdial-limit"
        case .remainingContacts: "remaining-contacts"
        case .abandonLimit: "abandon-limit"
        }
    }
}
