import DialerCore

/// A pacing policy to simulate, by name, with its settings.
///
/// Every kind but ``Kind/clairvoyant`` is the product's own policy from `DialerCore`, built
/// with these settings and driven exactly as a queue runner drives it; nothing is re-implemented.
public struct PolicySpec: Sendable, Hashable {
    /// The kinds of policy, with their settings.
    public enum Kind: Sendable, Hashable {
        /// `ProgressivePacing`: reserve an agent, then place `dialRate` lines for them.
        case progressive(dialRate: Int)
        /// `PowerPacing`: a fixed number of lines per ready agent and per agent in wrap-up.
        case power(callsPerReadyAgent: Double, callsPerWrapUpAgent: Double)
        /// `PredictivePacing`, configured from the scenario's target and window, with these overrides.
        case predictive(PredictiveSettings)
        /// `VICIdialAdaptiveBaseline`, its drop limit taken from the scenario's target.
        case vicidial(VICIdialSettings)
        /// The clairvoyant bound (see ``Simulator``): not a product policy.
        case clairvoyant
    }

    /// Overrides of `PredictivePacing`'s parameters; `nil` keeps the product's default.
    public struct PredictiveSettings: Sendable, Hashable {
        /// The abandon rate to hold, instead of the scenario's ``Scenario/targetAbandonRate``.
        public var targetAbandonRate: Double?
        /// `PredictivePacing.maxDialRate`: lines per available-or-soon-free agent.
        public var maxDialRate: Double?
        /// `PredictivePacing.overdialLimitPercent`: lines while every agent talks.
        public var overdialLimitPercent: Double?
        /// `PredictivePacing.safetyMargin`: how far below the limit to plan.
        public var safetyMargin: Double?
        /// `PredictivePacing.bankedBudgetShare`: the share of unspent budget put at risk at once.
        public var bankedBudgetShare: Double?
        /// `PredictivePacing.abandonCushion`: abandons held back against chance.
        public var abandonCushion: Double?
        /// `PredictivePacing.minimumLiveAnswers`: live answers before the model is trusted.
        public var minimumLiveAnswers: Int?
        /// `PredictivePacing.minimumAttempts`: attempts before the model is trusted.
        public var minimumAttempts: Int?

        /// Overrides; leave out what should keep the product's default.
        public init(
            targetAbandonRate: Double? = nil,
            maxDialRate: Double? = nil,
            overdialLimitPercent: Double? = nil,
            safetyMargin: Double? = nil,
            bankedBudgetShare: Double? = nil,
            abandonCushion: Double? = nil,
            minimumLiveAnswers: Int? = nil,
            minimumAttempts: Int? = nil
        ) {
            self.targetAbandonRate = targetAbandonRate
            self.maxDialRate = maxDialRate
            self.overdialLimitPercent = overdialLimitPercent
            self.safetyMargin = safetyMargin
            self.bankedBudgetShare = bankedBudgetShare
            self.abandonCushion = abandonCushion
            self.minimumLiveAnswers = minimumLiveAnswers
            self.minimumAttempts = minimumAttempts
        }
    }

    /// Settings of the VICIdial baseline; `nil` keeps VICIdial's default.
    public struct VICIdialSettings: Sendable, Hashable {
        /// VICIdial's drop-limit methods.
        public enum Method: String, Sendable, Hashable, CaseIterable {
            /// ADAPT_HARD_LIMIT.
            case hardLimit
            /// ADAPT_AVERAGE.
            case average
            /// ADAPT_TAPERED, tapering towards the end of the first shift.
            case tapered
        }

        /// What happens to the level when the drop percentage is over the limit.
        public var method: Method
        /// `adaptive_maximum_level` (default 3).
        public var maximumLevel: Double?
        /// `adaptive_intensity` (default 0).
        public var intensity: Double?
        /// `adaptive_dl_diff_target` (default 0).
        public var levelDifferenceTarget: Double?
        /// `available_only_ratio_tally` (default off).
        public var availableOnlyTally: Bool?

        /// Settings; leave out what should keep VICIdial's default.
        public init(
            method: Method = .hardLimit,
            maximumLevel: Double? = nil,
            intensity: Double? = nil,
            levelDifferenceTarget: Double? = nil,
            availableOnlyTally: Bool? = nil
        ) {
            self.method = method
            self.maximumLevel = maximumLevel
            self.intensity = intensity
            self.levelDifferenceTarget = levelDifferenceTarget
            self.availableOnlyTally = availableOnlyTally
        }
    }

    /// The name in reports and on the command line (`--policies`).
    public var name: String
    /// What to run.
    public var kind: Kind

    /// A policy to run, under `name`.
    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The comparison the issue asks for: progressive 1:1, power at 1.5 and 2.0 lines per ready
    /// agent, the product's predictive policy with its defaults, the VICIdial baseline twice
    /// (hard limit, with VICIdial's default tally of ready and talking agents, and with
    /// `available_only_ratio_tally`, which keeps it from overdialing for talking agents and
    /// makes it a much stronger baseline), and the clairvoyant bound.
    public static let standardSet: [PolicySpec] = [
        PolicySpec(name: "progressive", kind: .progressive(dialRate: 1)),
        PolicySpec(name: "power-1.5", kind: .power(callsPerReadyAgent: 1.5, callsPerWrapUpAgent: 0)),
        PolicySpec(name: "power-2.0", kind: .power(callsPerReadyAgent: 2, callsPerWrapUpAgent: 0)),
        PolicySpec(name: "predictive", kind: .predictive(PredictiveSettings())),
        PolicySpec(name: "vicidial", kind: .vicidial(VICIdialSettings())),
        PolicySpec(name: "vicidial-available-only", kind: .vicidial(VICIdialSettings(availableOnlyTally: true))),
        PolicySpec(name: "clairvoyant", kind: .clairvoyant),
    ]

    /// The product policy this spec names, configured for `scenario`; `nil` for the clairvoyant.
    ///
    /// - Parameter firstShiftEnd: the last calling moment of the first shift (ADAPT_TAPERED).
    func makePolicy(for scenario: Scenario, firstShiftEnd: Moment) -> (any PacingPolicy)? {
        switch kind {
        case .progressive(let dialRate):
            return ProgressivePacing(dialRate: dialRate)
        case .power(let ready, let wrapUp):
            return PowerPacing(callsPerReadyAgent: ready, callsPerWrapUpAgent: wrapUp)
        case .predictive(let settings):
            let target = settings.targetAbandonRate ?? scenario.targetAbandonRate
            let defaults = PredictivePacing()
            return PredictivePacing(
                target: .abandonRate(target),
                abandonLimit: target,
                maxDialRate: settings.maxDialRate ?? defaults.maxDialRate,
                overdialLimitPercent: settings.overdialLimitPercent ?? defaults.overdialLimitPercent,
                window: .seconds(scenario.windowHours * 3600),
                connectGrace: .seconds(scenario.connectGraceSeconds),
                safetyMargin: settings.safetyMargin ?? defaults.safetyMargin,
                bankedBudgetShare: settings.bankedBudgetShare ?? defaults.bankedBudgetShare,
                abandonCushion: settings.abandonCushion ?? defaults.abandonCushion,
                minimumLiveAnswers: settings.minimumLiveAnswers ?? defaults.minimumLiveAnswers,
                minimumAttempts: settings.minimumAttempts ?? defaults.minimumAttempts
            )
        case .vicidial(let settings):
            let method: VICIdialAdaptiveBaseline.Method =
                switch settings.method {
                case .hardLimit: .hardLimit
                case .average: .average
                case .tapered: .tapered(lastCallingMoment: firstShiftEnd)
                }
            let defaults = VICIdialAdaptiveBaseline(method: method)
            return VICIdialAdaptiveBaseline(
                method: method,
                droppedPercentageLimit: scenario.targetAbandonRate * 100,
                maximumLevel: settings.maximumLevel ?? defaults.maximumLevel,
                intensity: settings.intensity ?? defaults.intensity,
                levelDifferenceTarget: settings.levelDifferenceTarget ?? defaults.levelDifferenceTarget,
                availableOnlyTally: settings.availableOnlyTally ?? defaults.availableOnlyTally
            )
        case .clairvoyant:
            return nil
        }
    }
}
