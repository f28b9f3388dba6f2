extension CampaignSettings {
    /// The pacing policy this campaign's mode and settings call for.
    public func pacingPolicy() -> any PacingPolicy {
        switch mode {
        case .preview:
            return PreviewPacing()
        case .progressive:
            return ProgressivePacing(dialRate: min(max(dialRate, 1), 10))
        case .power:
            return PowerPacing(callsPerReadyAgent: callsPerReadyAgent, callsPerWrapUpAgent: callsPerWrapUpAgent)
        case .predictive:
            let target: PredictivePacing.Target =
                switch predictive.target {
                case .abandonRate: .abandonRate(predictive.targetAbandonRate)
                case .busyFactor: .busyFactor(predictive.targetBusyFactor)
                case .averageWait: .averageWait(predictive.targetAverageWait)
                }
            return PredictivePacing(
                target: target, abandonLimit: predictive.targetAbandonRate,
                maxDialRate: predictive.maximumDialRate, overdialLimitPercent: overdialLimitPercent,
                window: (predictive.regulatedWindows.min() ?? .twentyFourHours).length)
        case .agentless:
            return AgentlessPacing(ports: ivrPorts ?? 1)
        }
    }
}
