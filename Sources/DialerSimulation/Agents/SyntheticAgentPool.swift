public import DialerCore
public import DialerTransport

/// Many synthetic agents on one gateway, each its own client connection, with one profile and
/// seeds derived from one: the same pool seed gives every agent the same behaviour again.
public struct SyntheticAgentPool: Sendable {
    /// The agents' accounts, one connection each.
    public var accounts: [SyntheticAgent.Account]
    public var profile: SyntheticAgentProfile
    public var seed: UInt64

    public init(accounts: [SyntheticAgent.Account], profile: SyntheticAgentProfile, seed: UInt64) {
        self.accounts = accounts
        self.profile = profile
        self.seed = seed
    }

    /// What the pool's agents did, added up.
    public struct Summary: Hashable, Sendable {
        public var tally = SyntheticAgentBehaviour.Tally()
        /// The frames the agents exchanged with the gateway.
        public var frames = SyntheticAgent.FrameCount()
        /// Agents whose connection failed or ended early, with the reason.
        public var failures: [String: String] = [:]

        public init() {}
    }

    /// Runs every agent until `body` returns, then cancels them and adds up what they did.
    ///
    /// - Parameters:
    ///   - clock: the agents' call-time clock.
    ///   - observe: every agent's events, tagged with its login (called from many tasks).
    ///   - body: runs while the agents work; it gets the agents, e.g. to wait or watch them.
    public func run<Result: Sendable>(
        host: String, port: Int, settings: (SyntheticAgent.Account) -> ConnectionSettings,
        clock: any DialerClock,
        observe: @escaping @Sendable (String, SyntheticAgent.Event) -> Void = { _, _ in },
        while body: @escaping @Sendable ([SyntheticAgent]) async throws -> Result
    ) async throws -> (Result, Summary) {
        var seeds = SeededGenerator(seed: seed)
        let agents = accounts.map { account in
            SyntheticAgent(
                account: account, profile: profile, seed: seeds.next(), clock: clock,
                observe: { observe(account.login, $0) })
        }
        var failures: [String: String] = [:]
        let result = try await withThrowingTaskGroup(of: PoolTaskEnd<Result>.self) { group in
            for (agent, account) in zip(agents, accounts) {
                let agentSettings = settings(account)
                group.addTask {
                    do {
                        try await agent.run(host: host, port: port, settings: agentSettings)
                        return .agent(login: account.login, failure: "the connection ended")
                    } catch {
                        return .agent(login: account.login, failure: Task.isCancelled ? nil : "\(error)")
                    }
                }
            }
            group.addTask { .body(try await body(agents)) }
            while let finished = try await group.next() {
                switch finished {
                case .body(let result):
                    group.cancelAll()
                    return result
                case .agent(let login, let failure):
                    if let failure { failures[login] = failure }
                }
            }
            preconditionFailure("the body's task always finishes the group")
        }
        var summary = Summary()
        summary.failures = failures
        for agent in agents {
            summary.tally = summary.tally + (await agent.tally)
            summary.frames = summary.frames + (await agent.frames)
        }
        return (result, summary)
    }
}

/// How one of a pool's tasks ended.
private enum PoolTaskEnd<Result: Sendable>: Sendable {
    case agent(login: String, failure: String?)
    case body(Result)
}
