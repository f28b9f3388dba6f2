import Foundation

/// A discrete-event simulator of one campaign queue in virtual time, which runs the product's
/// own pacing policies and reservation book and compares them side by side.
///
/// ## What runs
///
/// Each policy gets a fresh run of the same scenario and seed. The run's event loop (a heap of
/// events in virtual time: attempts resolving, answering machines detected, customers hanging
/// up, talk and wrap-up ending, the book's timers, a pacing tick every
/// ``Scenario/pacingIntervalSeconds``) plays a queue runner, a trunk and the agents around the
/// product's code:
///
/// - **Pacing** is `DialerCore`'s policy itself (`ProgressivePacing`, `PowerPacing`,
///   `PredictivePacing`, `VICIdialAdaptiveBaseline`), asked on each tick with a `PacingInput`
///   built as a node builds it: the agents from the book's `QueuePicture`, the calls in flight,
///   and statistics measured from the run so far (answer rate, time to answer, talk and wrap-up
///   over the last ``Scenario/statisticsSample`` attempts and calls; abandons from an
///   `AbandonWindow` of ``Scenario/windowHours``).
/// - **Agents** are matched by `DialerCore`'s `ReservationBook` (longest available first): a live
///   answer asks for an agent with a deadline of ``Scenario/connectGraceSeconds``; without one by
///   then, or if the customer's patience runs out first, the call is abandoned. Progressive
///   reserves agents first and connects its live answers to them.
///
/// ## The same customers for every policy
///
/// The contact list is fixed by the seed: the k-th contact dialed has the same outcome draw,
/// ring time, machine-detection time and patience under every policy (its outcome also depends
/// on the answer rate in force when it is dialed). Talk and wrap-up times are fixed per agent
/// and per call of the agent's day: agent a's k-th call on day d lasts the same under every
/// policy. Same seed, same result, to the nanosecond.
///
/// ## The clairvoyant bound
///
/// The clairvoyant knows every contact's fate and every agent's call durations in advance. It
/// gives each agent a call the moment the shift starts and the moment each wrap-up ends, back
/// to back, by dialing the next contact that will answer live exactly its ring time before
/// (before the shift, for the first calls). It never abandons and its agents never wait.
///
/// No policy can beat it on talk time, whatever its abandons. In any policy, agent a's k-th
/// call of a day cannot start before the shift starts, and cannot start before the end of the
/// wrap-up of call k − 1, which lasts the same as the clairvoyant's; by induction on k, each of
/// the clairvoyant's calls starts no later than the same call does under the policy. The talk
/// intervals are the same lengths, each starting no later, so more (or as much) of them fall
/// within the shift: per agent and per day, talk time, talk plus wrap-up, and calls connected
/// are all at least the policy's. Abandons do not help a policy: an abandoned caller takes
/// none of an agent's time and gives them no talk. This is why durations belong to the agent's
/// calls rather than to the contacts: were a call's length the customer's, a policy that
/// abandons could by luck keep the long calls and drop the short ones. The argument needs a
/// live contact for every free agent: with a short ``Scenario/contacts`` list the clairvoyant
/// may run out of them like any policy, and is then no longer a bound.
public struct Simulator: Sendable {
    /// The scenario simulated.
    public var scenario: Scenario
    /// Where pacing's picture of the agents comes from: the same either way, but the book's
    /// takes longer (it sorts every session at every tick); the book's is kept to check it.
    public var agentPictures: AgentPictureSource = .ledger

    /// A simulator of `scenario`, which should be valid (``Scenario/validate()``).
    public init(scenario: Scenario) {
        self.scenario = scenario
    }

    /// Runs one policy over the scenario.
    ///
    /// - Parameters:
    ///   - seed: the seed to use instead of the scenario's.
    ///   - progress: told now and then the share of the shifts simulated (0 to 1).
    public func run(
        _ policy: PolicySpec,
        seed: UInt64? = nil,
        progress: (Double) -> Void = { _ in }
    ) -> PolicyReport {
        var run = PolicyRun(scenario: scenario, spec: policy, seed: seed ?? scenario.seed, pictures: agentPictures)
        return run.run(progress: progress)
    }

    /// Runs each policy over the scenario, on the same customers, `parallelism` at a time.
    ///
    /// - Parameters:
    ///   - policies: the policies to compare; ``Scenario/effectivePolicies`` by default.
    ///   - seed: the seed to use instead of the scenario's.
    ///   - parallelism: runs at once (each is single-threaded); the processor count by default.
    ///   - progress: told now and then how far each policy has come (0 to 1).
    public func compare(
        _ policies: [PolicySpec]? = nil,
        seed: UInt64? = nil,
        parallelism: Int? = nil,
        progress: (@Sendable (_ policy: String, _ done: Double) -> Void)? = nil
    ) async -> SimulationReport {
        let policies = policies ?? scenario.effectivePolicies
        let seed = seed ?? scenario.seed
        let width = max(1, parallelism ?? ProcessInfo.processInfo.activeProcessorCount)
        var reports = [PolicyReport?](repeating: nil, count: policies.count)
        await withTaskGroup(of: (Int, PolicyReport).self) { group in
            var next = 0
            func startNext() {
                guard next < policies.count else { return }
                let index = next
                let policy = policies[index]
                next += 1
                group.addTask { [self] in
                    (index, run(policy, seed: seed) { progress?(policy.name, $0) })
                }
            }
            for _ in 0..<width { startNext() }
            for await (index, report) in group {
                reports[index] = report
                startNext()
            }
        }
        return SimulationReport(
            scenario: scenario.name,
            seed: seed,
            agents: scenario.agents,
            shiftHours: scenario.shiftHours,
            days: scenario.days,
            targetAbandonRate: scenario.targetAbandonRate,
            policies: reports.compactMap(\.self)
        )
    }
}

/// Where a run's pacing input takes its agents from.
public enum AgentPictureSource: Sendable, Hashable {
    /// The run's own ledger of the agent changes the book reports, arranged as the book's
    /// picture arranges them.
    case ledger
    /// The reservation book's `QueuePicture`, taken at every pacing tick as a node receives it.
    case book
}
