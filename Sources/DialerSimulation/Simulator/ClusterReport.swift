import Foundation

/// What a ``ClusterRun`` measured: the figures the issue asks of every run, for the whole
/// floor and per campaign.
public struct ClusterReport: Sendable, Hashable, Codable {
    /// One campaign's calls.
    public struct CampaignFigures: Sendable, Hashable, Codable {
        public var queue: String
        public var mode: String
        /// Calls placed (the trunk's refusals are not attempts).
        public var attempts: Int
        /// Live answers as the runner counts them: connected or abandoned.
        public var liveAnswers: Int
        public var connected: Int
        public var abandons: Int
        /// Abandons by ``DialerCore/AbandonCause`` name; every abandon has one (`none` would
        /// show one without).
        public var abandonsByCause: [String: Int]
        /// Calls classified as answering machines (by the detector; a few are people).
        public var machines: Int
        /// People the detector took for machines and hung up on: Ofcom counts them as abandons.
        public var humansClassedAsMachines: Int
        /// Calls refused by the trunk for its channels or its calls-per-second cap.
        public var refusedByTrunk: Int
    }

    /// The inbound callers.
    public struct InboundFigures: Sendable, Hashable, Codable {
        /// Callers offered to the nodes (the carrier's refusals are not).
        public var arrived: Int
        /// Bridged to an agent.
        public var taken: Int
        /// Hung up, or not granted an agent, before being bridged.
        public var abandoned: Int
        /// Mean wait of the callers taken, in seconds of call time.
        public var meanWaitSeconds: Double?
    }

    public var scenario: String
    public var seed: UInt64
    public var agents: Int
    public var shiftHours: Double
    public var timeScale: Double
    public var gatewayLatencyMilliseconds: Double
    public var pictureIntervalMilliseconds: Double

    public var attempts: Int
    public var liveAnswers: Int
    public var connected: Int
    public var abandons: Int
    public var abandonsByCause: [String: Int]
    /// Abandons over live answers, over the run.
    public var abandonRate: Double
    /// The worst rolling 24 h window's abandon rate (windows of at least 100 live answers), and
    /// when it ends (hours since the start).
    public var worstRolling24hAbandonRate: Double?
    public var worstRolling24hWindowEndHours: Double?
    /// The same over rolling one-hour windows.
    public var worstRolling1hAbandonRate: Double?
    public var worstRolling1hWindowEndHours: Double?
    /// People classed as machines, counted exactly (the simulator knows the truth).
    public var humansClassedAsMachines: Int
    /// The abandon rate as Ofcom counts it: (abandons + people classed as machines) over
    /// (live answers + people classed as machines).
    public var ofcomAbandonRate: Double
    /// Talk over logged-in agent time during the shift.
    public var talkOccupancy: Double
    /// Talk and wrap-up over logged-in agent time during the shift.
    public var occupancy: Double
    public var campaigns: [CampaignFigures]
    public var inbound: InboundFigures?
    /// Agents granted to a queue while a request of a queue they rank lower waited: blending
    /// serving the higher-ranked queue first.
    public var grantsAheadOfWaitingLowerRank: Int
    /// Agents granted to a queue while a request of a queue they rank higher waited: 0 when the
    /// ranking holds (preview offers skipped by an agent aside).
    public var grantsPastWaitingHigherRank: Int
    /// Operations the reservation book refused (a release crossing a revoke ...): a few are
    /// normal races, many would be a bug.
    public var bookRefusals: Int

    /// The report as pretty-printed JSON with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            // A number that JSON cannot hold (not finite): say so rather than stop the run.
            return "{\"error\": \"the report could not be written as JSON: \(error)\"}"
        }
    }

    /// The report as text: one summary table row, the causes, the campaigns and the callers.
    public func table() -> String {
        func percent(_ value: Double?, _ digits: Int = 2) -> String {
            value.map { String(format: "%.\(digits)f %%", $0 * 100) } ?? "-"
        }
        func causes(_ causes: [String: Int]) -> String {
            let line = causes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
            return line.isEmpty ? "none" : line.joined(separator: ", ")
        }
        var lines = [
            "| attempts | live answers | abandons | abandon | worst 1h | worst 24h | Ofcom (with AMD false positives) | occupancy | talk |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            "| \(attempts) | \(liveAnswers) | \(abandons) | \(percent(abandonRate)) | \(percent(worstRolling1hAbandonRate)) "
                + "| \(percent(worstRolling24hAbandonRate)) | \(percent(ofcomAbandonRate)) (\(humansClassedAsMachines)) "
                + "| \(percent(occupancy, 1)) | \(percent(talkOccupancy, 1)) |",
            "",
            "abandons by cause: " + causes(abandonsByCause),
        ]
        if let hour = worstRolling1hWindowEndHours, (worstRolling1hAbandonRate ?? 0) > 0 {
            lines.append(String(format: "worst 1 h window ends %.2f h into the run", hour))
        }
        for campaign in campaigns {
            let rate = campaign.liveAnswers > 0 ? Double(campaign.abandons) / Double(campaign.liveAnswers) : nil
            lines.append(
                "campaign \(campaign.queue) (\(campaign.mode)): \(campaign.attempts) attempts, \(campaign.liveAnswers) live, "
                    + "\(campaign.abandons) abandoned (\(percent(rate))): \(causes(campaign.abandonsByCause)); "
                    + "\(campaign.machines) machines, \(campaign.humansClassedAsMachines) of them people; "
                    + "\(campaign.refusedByTrunk) refused by the trunk")
        }
        if let inbound {
            lines.append(
                "inbound: \(inbound.arrived) callers, \(inbound.taken) taken, \(inbound.abandoned) abandoned, mean wait "
                    + (inbound.meanWaitSeconds.map { String(format: "%.1f s", $0) } ?? "-"))
        }
        if grantsAheadOfWaitingLowerRank + grantsPastWaitingHigherRank > 0 {
            lines.append(
                "ranking: \(grantsAheadOfWaitingLowerRank) grants ahead of a lower-ranked queue's waiting request, "
                    + "\(grantsPastWaitingHigherRank) past a higher-ranked one's")
        }
        if bookRefusals > 0 { lines.append("operations the reservation book refused: \(bookRefusals)") }
        return lines.joined(separator: "\n")
    }
}
