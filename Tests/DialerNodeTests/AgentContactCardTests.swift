import DialerCore
import DialerNode
import DialerSimulation
import Testing

/// Progressive and preview calls reach the agent with the contact and the attempt, as connect
/// requests do: the runner confirms each bridged call with the target it dialed, so the agent's
/// desktop shows who it is and its disposition names the attempt.
@Suite("Queue runner: the agent's call carries its contact and attempt")
struct AgentContactCardTests {
    static func target(_ index: Int) -> DialTarget {
        var target = InMemoryContacts.target(index)
        target.fields = ["name": "Customer \(index)"]
        return target
    }

    @Test(arguments: [DialingMode.progressive, .preview])
    func theConfirmedCallCarriesTheDialedContact(mode: DialingMode) async throws {
        var settings = QueueRunnerModeTests.enabled(mode)
        settings.dialRate = 2
        let bench = try await RunnerBench(
            settings: settings, population: QueueRunnerModeTests.population(.init(live: 1)), agents: 1,
            targets: (1...2).map(Self.target))
        if mode == .preview {
            await bench.run(until: "the offer") { await bench.desk.offers.count == 1 }
            let offer = try #require(await bench.desk.offers.first)
            try await bench.desk.accept(offer.agent, request: offer.request)
            await bench.settle()
        }
        await bench.run(until: "a call is confirmed") { await !bench.desk.confirmed.isEmpty }
        let confirmed = try #require(await bench.desk.confirmed.first)
        #expect(confirmed.agent == AgentID("agent-0"))
        await bench.run(until: "the connected call is reported") {
            await bench.contacts.reports.contains { $0.outcome == .connected }
        }
        let report = try #require(await bench.contacts.reports.first { $0.outcome == .connected })
        #expect(confirmed.target == report.target, "the agent sees the contact of the call it is on")
        #expect(confirmed.target.attempt == report.target.attempt)
        #expect(confirmed.target.fields["name"]?.hasPrefix("Customer") == true)
        let request = await bench.desk.requests.first { $0.id == confirmed.request }
        if mode == .progressive {
            #expect(request?.target == nil, "the reservation was made before any contact was dialed")
        }
        await bench.finish()
    }
}
