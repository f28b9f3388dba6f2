import DialerCore
import DialerNode
import DialerSimulation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A serial executor over one event loop that counts the jobs it was given.
private final class CountingExecutor: SerialExecutor {
    let loop: any EventLoop
    let jobs = Atomic<Int>(0)

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        jobs.add(1, ordering: .relaxed)
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}

@Suite("Queue runner over the simulated trunk")
struct QueueRunnerTests {
    /// A power campaign of 60 contacts with 5 agents, at a time scale: every contact is dialed
    /// once and reported once with a consistent outcome, and no agent is reserved twice. The
    /// runner's steps (its pacing decisions among them) run on the executor it was given, off
    /// the cooperative pool.
    @Test(arguments: [DialingMode.power, .predictive])
    func aCampaignRunsToTheEndWithEveryContactReportedOnce(mode: DialingMode) async throws {
        let population = SimulatedTrunk.Population(
            seed: 11, timeScale: 200, ringSeconds: .uniform(min: 2, max: 8),
            talkSeconds: .uniform(min: 20, max: 60), patienceSeconds: .fixed(seconds: 10))
        let trunk = try await SimulatedTrunk(population: population, clock: SystemClock())
        let queue = QueueID("sales")
        let node = MemberID("node-1")
        let desk = try InProcessDesk(agents: 5, queue: queue, node: node, epoch: Epoch(1), clock: trunk.clock)
        let contacts = InMemoryContacts(count: 60)
        var settings = CampaignSettings(mode: mode, callsPerReadyAgent: 1.5)
        settings.answeringMachine = .hangUp
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = CountingExecutor(loop: loops.next())
        let runner = QueueRunner(
            configuration: .init(queue: queue, node: node, contactBuffer: 10), settings: settings, epoch: Epoch(1),
            trunk: trunk, contacts: contacts, desk: desk, clock: trunk.clock, tickInterval: .seconds(1),
            logger: Logger(label: "test"), executor: executor, leaseIsValid: { true })
        let run = Task { await runner.run() }
        let agentsPicture = AgentPicture(available: Array(repeating: .seconds(5), count: 5))
        // Keep the runner's picture fresh, as the gateway's stream would.
        while await contacts.reports.count < 60 {
            // An agent connected to an answering machine the detector missed hangs up, as people
            // do (the simulated machine never does).
            for request in await desk.callsLongerThan(.seconds(120)) { await runner.handle(.agentHungUp(request)) }
            await runner.agentsChanged(agentsPicture, present: [AgentID("agent-0")])
            try await trunk.clock.sleep(until: trunk.clock.now() + .seconds(2))
        }
        await runner.drain()
        await runner.waitUntilFinished()
        run.cancel()
        await trunk.shutDown()
        try await loops.shutdownGracefully()

        #expect(executor.jobs.load(ordering: .relaxed) > 0, "the runner ran on its executor")
        let reports = await contacts.reports
        #expect(Set(reports.map(\.target.attempt)).count == 60, "each contact reported once")
        #expect(await contacts.givenBack.isEmpty)
        for report in reports {
            #expect(report.endedAt >= report.dialedAt)
            if report.outcome == .connected {
                #expect(report.agent != nil)
                #expect(report.bridgedAt != nil)
            }
            if report.outcome.isLiveAnswer || report.outcome == .machine { #expect(report.answeredAt != nil) }
        }
        #expect(await desk.busyTwice == 0)
        #expect(await contacts.lastPresent == [AgentID("agent-0")], "the feeder hears who is logged in")
    }
}
