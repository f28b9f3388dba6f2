import DialerCore
import DialerNode
import DialerSimulation
import Testing

/// Blending with the real runner, trunk and reservation book on the manual clock: one team
/// ranks an inbound queue first and a predictive campaign second.
@Suite("Queue runner: an inbound queue ranked first blended with a predictive campaign")
struct BlendedRunnerTests {
    static let inbound = QueueID("support")

    /// An inbound caller: asks the desk for an agent of the inbound queue, talks, and ends.
    static func caller(_ index: Int, bench: RunnerBench, talk: Duration) async -> Bool {
        let draft = AgentRequestDraft(
            id: RequestID("caller-\(index)"), kind: .inboundCall, deadline: bench.now + .seconds(120),
            namedAgent: nil, target: nil)
        guard case .granted = await bench.desk.request(draft, queue: inbound, epoch: Epoch(1)) else { return false }
        let card = DialTarget(
            attempt: AttemptID("inbound-\(index)"), contact: ContactID("caller-\(index)"), phone: "+4420799900\(index)")
        await bench.desk.confirm(draft.id, target: card, queue: inbound, epoch: Epoch(1))
        try? await bench.clock.sleep(until: bench.clock.now() + talk)
        await bench.desk.callEnded(draft.id)
        return true
    }

    @Test func inboundCallersGoFirstAndEveryAbandonIsPlannedOrExplained() async throws {
        var settings = QueueRunnerModeTests.enabled(.predictive)
        settings.predictive.targetAbandonRate = 0.03
        let bench = try await RunnerBench(
            settings: settings,
            population: QueueRunnerModeTests.population(.standard, ring: .uniform(min: 2, max: 12), talk: 20),
            agents: 6, targets: (1...100).map(InMemoryContacts.target),
            skills: AgentSkills([Self.inbound: 1, QueueID("sales"): 2]))
        // Callers arrive every 15 s of call time for the first 150 s, each talking 30 s.
        var callers: [Task<Bool, Never>] = []
        for index in 0..<10 {
            await bench.run(until: "caller \(index) is due", within: .seconds(20)) {
                bench.now >= Moment.origin + .seconds(10_000 + 15 * Double(index))
            }
            callers.append(Task { await Self.caller(index, bench: bench, talk: .seconds(30)) })
            await bench.settle()
        }
        await bench.runUntilReported(100, within: .seconds(3_600))
        var served = 0
        for caller in callers where await caller.value { served += 1 }
        #expect(served == 10, "every inbound caller reached an agent")
        #expect(await bench.desk.grantsPassingOverHigherRanks == 0, "no campaign grant while a caller waited")
        #expect(await bench.desk.busyTwice == 0)

        let reports = await bench.contacts.reports
        let live = reports.filter { $0.outcome == .connected || $0.outcome == .abandoned }.count
        let abandoned = reports.filter { $0.outcome == .abandoned }
        #expect(abandoned.allSatisfy { $0.abandonCause != nil }, "every abandon has a cause")
        // The policy plans 3 % of live answers less its margin, and keeps two abandons back
        // against chance: the runner may not abandon more than that.
        let planned = Int((0.03 * Double(live)).rounded(.up)) + 2
        #expect(abandoned.count <= planned, "\(abandoned.count) abandons of \(live) live answers")
        #expect(reports.contains { $0.outcome == .connected }, "the campaign was served too")
        await bench.finish()
    }
}
