/// The regulator's rules a campaign's settings must keep, on top of the ranges every campaign
/// keeps: chosen for the cluster (`manager.compliance_profile`) or per campaign
/// (``CampaignSettings/compliance``).
///
/// Each rule is checked on the settings by ``CampaignSettings/validate(under:)``, and an error
/// names the rule (`us-ftc: ...`), so that an operator knows which law the setting breaks.
public enum ComplianceProfile: String, Hashable, Sendable, Codable, CaseIterable {
    /// No regulator's rules: only the ranges every campaign keeps.
    case none
    /// US Telemarketing Sales Rule (FTC, 16 CFR 310.4): at most 3 % of live answers abandoned
    /// over 30 days per campaign, a caller connected to an agent within 2 s of the greeting or
    /// else given a recorded message, at least 15 s (about four rings) of ringing, and caller
    /// ID transmitted.
    case usFTC = "us-ftc"
    /// UK Ofcom persistent-misuse policy: at most 3 % of live answers abandoned over 24 hours,
    /// an information message played on every abandoned call, and a caller ID presented.
    case ukOfcom = "uk-ofcom"

    /// The highest abandon rate pacing may aim at, and the window it must hold over.
    public var abandonLimit: (rate: Double, window: RegulatedWindow)? {
        switch self {
        case .none: nil
        case .usFTC: (0.03, .thirtyDays)
        case .ukOfcom: (0.03, .twentyFourHours)
        }
    }

    /// How long an answered caller may wait for an agent before the call counts as abandoned.
    public var connectDeadline: Duration? {
        switch self {
        case .none: nil
        case .usFTC, .ukOfcom: .seconds(2)
        }
    }

    /// Whether every call must present a caller ID.
    public var requiresCallerID: Bool { self != .none }

    /// Whether a caller no agent takes must hear a message (the safe harbour's recorded message,
    /// Ofcom's information message) rather than silence.
    public var requiresAbandonMessage: Bool { self != .none }
}

extension CampaignSettings {
    /// The rules of `profile` that these settings break, each naming the field and the rule.
    func complianceErrors(under profile: ComplianceProfile) -> [FieldError] {
        guard profile != .none else { return [] }
        var errors: [FieldError] = []
        let rule = profile.rawValue
        if let limit = profile.abandonLimit {
            let percent = Int((limit.rate * 100).rounded())
            if predictive.targetAbandonRate > limit.rate {
                errors.append(
                    FieldError(
                        field: "predictive.targetAbandonRate",
                        message:
                            "\(rule): at most \(limit.rate) (\(percent) % over \(limit.window.rawValue)) "
                            + "(was \(predictive.targetAbandonRate))"))
            }
            if !predictive.regulatedWindows.contains(limit.window) {
                errors.append(
                    FieldError(
                        field: "predictive.regulatedWindows",
                        message: "\(rule): must include \(limit.window.rawValue), the window the rate is regulated over"
                    ))
            }
        }
        if ringTimeout < Self.minimumRingTimeout {
            errors.append(FieldError(field: "ringTimeout", message: "\(rule): must ring at least 15 s"))
        }
        if profile.requiresCallerID, callerID.defaultNumber == nil, callerID.pool.isEmpty {
            errors.append(
                FieldError(
                    field: "callerID.defaultNumber",
                    message: "\(rule): a caller ID is required: set default_number or a pool"))
        }
        if profile.requiresAbandonMessage {
            switch noAgentPolicy {
            case .hangUp:
                errors.append(
                    FieldError(
                        field: "noAgentPolicy",
                        message:
                            "\(rule): a caller no agent takes must hear a message: use {\"action\": \"hold\", "
                            + "\"message\": ..., \"maximum_hold\": ...}"))
            case .hold(_, let maximumHold):
                if let deadline = profile.connectDeadline, maximumHold > deadline {
                    errors.append(
                        FieldError(
                            field: "noAgentPolicy.maximumHold",
                            message:
                                "\(rule): at most \(deadline.secondsText): a caller not connected within "
                                + "\(deadline.secondsText) is abandoned (was \(maximumHold.secondsText))"))
                }
            }
        }
        return errors
    }
}
