import DialerSimulation
import Testing

@testable import DialerLoad

@Suite("Agent meter: the session start apart from the work")
struct AgentMeterTests {
    @Test func operationsAfterTheFirstSetReadyAreTheWorkingFigure() {
        let meter = AgentMeter()
        func answered(_ login: String, _ operation: String, ms: Int64) {
            meter.observe(login, .answered(operation: operation, roundTrip: .milliseconds(ms)))
        }
        // Two agents start in a burst: slow logins and first set-readies.
        answered("a1", "agent_login", ms: 700)
        answered("a2", "agent_login", ms: 650)
        answered("a1", "agent_set_not_ready", ms: 400)  // before its first set-ready: the start
        answered("a1", "agent_set_ready", ms: 450)
        // a1 works; a2's set-ready has not been answered yet.
        answered("a1", "agent_disposition", ms: 9)
        answered("a1", "agent_set_ready", ms: 4)
        answered("a2", "agent_set_ready", ms: 500)
        answered("a2", "agent_hangup", ms: 6)
        // A refusal is no round trip in either figure.
        meter.observe("a2", .refused(operation: "agent_hangup", code: "INVALID_STATE", message: "no call"))

        let all = meter.roundTrips(source: "test")
        let working = meter.workingRoundTrips(source: "test")
        #expect(all.count == 8)
        #expect(working.count == 3)
        #expect(working.maxMs < 10 && working.maxMs >= 9)
        #expect(all.maxMs >= 700)
        #expect(meter.roundTripsByOperation(source: "test")["agent_set_ready"]?.count == 3)
    }
}
