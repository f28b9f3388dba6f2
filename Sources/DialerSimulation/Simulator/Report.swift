import Foundation

/// What one policy achieved over a scenario's shifts.
///
/// Times are counted within the shifts only (a call running past the end counts up to the end),
/// so that occupancies are shares of the staffed time and never above 1.
public struct PolicyReport: Sendable, Hashable, Codable {
    /// The policy's name.
    public var policy: String
    /// Agents × shift length × days.
    public var staffedAgentHours: Double
    /// Talk time over staffed time.
    public var talkOccupancy: Double
    /// Talk and wrap-up time over staffed time.
    public var busyOccupancy: Double
    /// Minutes of talk per staffed agent-hour (`talkOccupancy` × 60).
    public var talkMinutesPerAgentHour: Double
    /// Calls started.
    public var attempts: Int
    /// Calls answered by a person.
    public var liveAnswers: Int
    /// Live answers connected to an agent within the grace time.
    public var connects: Int
    /// Live answers not connected within the grace time (including customers who hung up first).
    public var abandons: Int
    /// Abandons over live answers, over the whole run.
    public var abandonRate: Double
    /// The highest abandon rate of any rolling 24-hour window holding at least 100 live
    /// answers (`nil`: none did), among the windows ending before the run's last event: later
    /// ones would also hold the calls of a next day that is not simulated.
    public var worstRolling24hAbandonRate: Double?
    /// When the worst 24-hour window ends, in hours since the first shift started.
    public var worstRolling24hWindowEndHours: Double?
    /// The same over rolling one-hour windows, including those ending in the hour after the
    /// last shift.
    public var worstRolling1hAbandonRate: Double?
    /// When the worst one-hour window ends, in hours since the first shift started.
    public var worstRolling1hWindowEndHours: Double?
    /// Mean time from an agent becoming free (ready, or done with wrap-up) to their next call.
    public var meanWaitBetweenCallsSeconds: Double?
    /// Live connects per hour of shift, all agents together.
    public var connectsPerHour: Double
    /// Live connects per staffed agent-hour.
    public var connectsPerAgentHour: Double

    /// Creates a report; the simulator fills it in.
    public init(
        policy: String,
        staffedAgentHours: Double,
        talkOccupancy: Double,
        busyOccupancy: Double,
        talkMinutesPerAgentHour: Double,
        attempts: Int,
        liveAnswers: Int,
        connects: Int,
        abandons: Int,
        abandonRate: Double,
        worstRolling24hAbandonRate: Double?,
        worstRolling24hWindowEndHours: Double?,
        worstRolling1hAbandonRate: Double?,
        worstRolling1hWindowEndHours: Double?,
        meanWaitBetweenCallsSeconds: Double?,
        connectsPerHour: Double,
        connectsPerAgentHour: Double
    ) {
        self.policy = policy
        self.staffedAgentHours = staffedAgentHours
        self.talkOccupancy = talkOccupancy
        self.busyOccupancy = busyOccupancy
        self.talkMinutesPerAgentHour = talkMinutesPerAgentHour
        self.attempts = attempts
        self.liveAnswers = liveAnswers
        self.connects = connects
        self.abandons = abandons
        self.abandonRate = abandonRate
        self.worstRolling24hAbandonRate = worstRolling24hAbandonRate
        self.worstRolling24hWindowEndHours = worstRolling24hWindowEndHours
        self.worstRolling1hAbandonRate = worstRolling1hAbandonRate
        self.worstRolling1hWindowEndHours = worstRolling1hWindowEndHours
        self.meanWaitBetweenCallsSeconds = meanWaitBetweenCallsSeconds
        self.connectsPerHour = connectsPerHour
        self.connectsPerAgentHour = connectsPerAgentHour
    }
}

/// The side-by-side comparison of one run: every policy on the same customers.
public struct SimulationReport: Sendable, Hashable, Codable {
    /// The scenario's name.
    public var scenario: String
    /// The seed the run used.
    public var seed: UInt64
    /// The scenario's staff, shift and target, repeated so the report stands on its own.
    public var agents: Int
    public var shiftHours: Double
    public var days: Int
    public var targetAbandonRate: Double
    /// One report per policy, in the order they were asked for.
    public var policies: [PolicyReport]

    /// Creates a report; the simulator fills it in.
    public init(
        scenario: String,
        seed: UInt64,
        agents: Int,
        shiftHours: Double,
        days: Int,
        targetAbandonRate: Double,
        policies: [PolicyReport]
    ) {
        self.scenario = scenario
        self.seed = seed
        self.agents = agents
        self.shiftHours = shiftHours
        self.days = days
        self.targetAbandonRate = targetAbandonRate
        self.policies = policies
    }

    /// The report as pretty-printed JSON with sorted keys (stable, so runs can be diffed).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Every value is a finite number, a string or null: encoding cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// The report as a text table, one policy per row (Markdown-compatible).
    public func table() -> String {
        let header = [
            "policy", "occ talk", "occ talk+wrap", "talk min/agent-h", "abandon", "worst 24h", "worst 1h",
            "(ends at h)", "wait s", "connects/h", "connects/agent-h", "attempts",
        ]
        let rows = policies.map { report in
            [
                report.policy,
                Self.percent(report.talkOccupancy),
                Self.percent(report.busyOccupancy),
                Self.fixed(report.talkMinutesPerAgentHour, 1),
                Self.percent(report.abandonRate, 2),
                report.worstRolling24hAbandonRate.map { Self.percent($0, 2) } ?? "-",
                report.worstRolling1hAbandonRate.map { Self.percent($0, 2) } ?? "-",
                // When no window abandoned anything, "the worst" is just the first one: no time.
                (report.worstRolling1hAbandonRate ?? 0) > 0
                    ? report.worstRolling1hWindowEndHours.map { Self.fixed($0, 2) } ?? "-" : "-",
                report.meanWaitBetweenCallsSeconds.map { Self.fixed($0, 1) } ?? "-",
                Self.fixed(report.connectsPerHour, 0),
                Self.fixed(report.connectsPerAgentHour, 2),
                String(report.attempts),
            ]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                // Names left, numbers right: columns of figures line up on their last digit.
                return column == 0 ? cell + pad : pad + cell
            }
            return "| " + padded.joined(separator: " | ") + " |"
        }
        let rule =
            "|"
            + widths.enumerated().map { column, width in
                column == 0 ? String(repeating: "-", count: width + 2) : String(repeating: "-", count: width + 1) + ":"
            }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    private static func percent(_ value: Double, _ digits: Int = 1) -> String {
        fixed(value * 100, digits) + " %"
    }

    private static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
