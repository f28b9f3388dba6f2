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

@Suite("Queue runner: its own executor")
struct QueueRunnerExecutorTests {
    /// The runner's steps (its pacing decisions among them) run on the executor it was given,
    /// not on the cooperative pool; a campaign still runs to its end there.
    @Test func theRunnerRunsItsStepsOnTheExecutorItWasGiven() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = CountingExecutor(loop: group.next())
        let population = SimulatedTrunk.Population(
            seed: 11, timeScale: 200, ringSeconds: .uniform(min: 2, max: 6),
            talkSeconds: .uniform(min: 10, max: 30), patienceSeconds: .fixed(seconds: 10))
        let trunk = try await SimulatedTrunk(population: population, clock: SystemClock())
        let queue = QueueID("sales")
        let node = MemberID("node-1")
        let desk = try InProcessDesk(agents: 3, queue: queue, node: node, epoch: Epoch(1), clock: trunk.clock)
        let contacts = InMemoryContacts(count: 12)
        var settings = CampaignSettings(mode: .predictive, callsPerReadyAgent: 1.5)
        settings.answeringMachine = .hangUp
        let runner = QueueRunner(
            configuration: .init(queue: queue, node: node, contactBuffer: 6), settings: settings, epoch: Epoch(1),
            trunk: trunk, contacts: contacts, desk: desk, clock: trunk.clock, tickInterval: .seconds(1),
            logger: Logger(label: "test"), executor: executor, leaseIsValid: { true })
        let run = Task { await runner.run() }
        let watching = await desk.watch(runner)
        while await contacts.reports.count < 12 {
            for request in await desk.callsLongerThan(.seconds(60)) { await runner.handle(.agentHungUp(request)) }
            try await trunk.clock.sleep(until: trunk.clock.now() + .seconds(2))
        }
        await runner.drain()
        await runner.waitUntilFinished()
        run.cancel()
        watching.cancel()
        await trunk.shutDown()
        try await group.shutdownGracefully()

        #expect(executor.jobs.load(ordering: .relaxed) > 0)
        #expect(Set(await contacts.reports.map(\.target.attempt)).count == 12)
    }
}
