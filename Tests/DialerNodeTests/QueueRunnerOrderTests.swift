import DialerCore
import DialerNode
import DialerSimulation
import Logging
import Synchronization
import Testing

/// What the ports saw, in the order they saw it.
private final class PortLog: Sendable {
    private let entries = Mutex<[String]>([])
    private let numbers = Mutex<[CallID: String]>([:])

    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }

    func placed(_ call: CallID, to number: String) { numbers.withLock { $0[call] = number } }
    func number(of call: CallID) -> String { numbers.withLock { $0[call] } ?? "?" }
}

/// The simulated trunk with a slow bridge: it takes many turns of the scheduler before it is
/// done, so that anything not waiting for it would overtake it.
private struct SlowBridgeTrunk: Trunk {
    let base: SimulatedTrunk
    let log: PortLog

    func originate(_ request: OriginateRequest) async throws(TrunkError) -> OutboundCall {
        let call = try await base.originate(request)
        log.placed(call.id, to: request.number)
        return call
    }
    var inboundCalls: AsyncStream<InboundCall> { base.inboundCalls }
    func receiveCalls(to numbers: Set<String>?) async { await base.receiveCalls(to: numbers) }
    func accept(_ call: CallID) async throws(TrunkError) { try await base.accept(call) }
    func bridge(_ call: CallID, to agent: AgentID) async throws(TrunkError) {
        for _ in 0..<200 { await Task.yield() }
        try await base.bridge(call, to: agent)
        log.append("bridged \(log.number(of: call))")
    }
    func play(_ message: CallMessage, on call: CallID) async throws(TrunkError) {
        try await base.play(message, on: call)
    }
    func hangUp(_ call: CallID) async throws(TrunkError) { try await base.hangUp(call) }
}

/// The in-process gateway, recording confirmations and call ends.
private struct RecordingDesk: AgentDesk {
    let base: InProcessDesk
    let log: PortLog

    func request(_ draft: AgentRequestDraft, queue: QueueID, epoch: Epoch) async -> AgentAnswer {
        await base.request(draft, queue: queue, epoch: epoch)
    }
    func confirm(_ request: RequestID, target: DialTarget, queue: QueueID, epoch: Epoch) async {
        log.append("confirm \(target.phone)")
        await base.confirm(request, target: target, queue: queue, epoch: epoch)
    }
    func release(_ request: RequestID) async { await base.release(request) }
    func cancel(_ request: RequestID) async { await base.cancel(request) }
    func callEnded(_ request: RequestID) async { await base.callEnded(request) }
}

@Suite("Queue runner: actions in the order the machine emits them")
struct QueueRunnerOrderTests {
    /// The machine asks for the bridge, then the gateway's confirmation: with a trunk slow to
    /// bridge, the gateway still hears of each call only once it is bridged, and every call
    /// still ends reported (the other calls did not wait for the slow one).
    @Test func theGatewayHearsOfACallOnlyAfterItsBridge() async throws {
        let population = SimulatedTrunk.Population(
            seed: 5, timeScale: 200, ringSeconds: .uniform(min: 2, max: 6),
            talkSeconds: .uniform(min: 10, max: 30), patienceSeconds: .fixed(seconds: 10))
        let simulated = try await SimulatedTrunk(population: population, clock: SystemClock())
        let log = PortLog()
        let trunk = SlowBridgeTrunk(base: simulated, log: log)
        let queue = QueueID("sales")
        let node = MemberID("node-1")
        let inProcess = try InProcessDesk(agents: 4, queue: queue, node: node, epoch: Epoch(1), clock: simulated.clock)
        let contacts = InMemoryContacts(count: 30)
        var settings = CampaignSettings(mode: .power, callsPerReadyAgent: 1.5)
        settings.answeringMachine = .hangUp
        let runner = QueueRunner(
            configuration: .init(queue: queue, node: node, contactBuffer: 10), settings: settings, epoch: Epoch(1),
            trunk: trunk, contacts: contacts, desk: RecordingDesk(base: inProcess, log: log), clock: simulated.clock,
            tickInterval: .seconds(1), logger: Logger(label: "test"), leaseIsValid: { true })
        let run = Task { await runner.run() }
        let watching = await inProcess.watch(runner)
        while await contacts.reports.count < 30 {
            for request in await inProcess.callsLongerThan(.seconds(60)) { await runner.handle(.agentHungUp(request)) }
            try await simulated.clock.sleep(until: simulated.clock.now() + .seconds(2))
        }
        await runner.drain()
        await runner.waitUntilFinished()
        run.cancel()
        watching.cancel()
        await simulated.shutDown()

        let entries = log.all
        let confirmed = entries.filter { $0.hasPrefix("confirm ") }
        #expect(!confirmed.isEmpty, "some calls were bridged to agents")
        for (index, entry) in entries.enumerated() where entry.hasPrefix("confirm ") {
            let number = entry.dropFirst("confirm ".count)
            let bridged = entries.firstIndex(of: "bridged \(number)")
            #expect(bridged.map { $0 < index } == true, "\(number): confirmed before its bridge was done")
        }
        #expect(Set(await contacts.reports.map(\.target.attempt)).count == 30)
    }
}
