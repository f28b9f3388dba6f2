import DialerCore
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

private struct ContactBody: Decodable {
    struct State: Decodable { var kind: String }
    var state: State
    var attempts: Int
}

private struct AttemptsBody: Decodable {
    var attempts: [AttemptBody]
}

private struct AttemptBody: Decodable {
    struct DispositionBody: Decodable { var name: String }
    var id: String
    var outcome: String?
    var agent: String?
    var disposition: DispositionBody?
    var nodeLostOnCall: Bool
}

/// How the node holding the agents' calls goes away.
enum NodeFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// kill -9: its connections drop at once, its lease runs out.
    case kill
    /// SIGSTOP past its lease: its connections go silent, then are declared dead.
    case stop
    /// SIGTERM: it stops on purpose, ending and reporting its calls first.
    case term

    var testDescription: String { rawValue }
}

/// The calls a node has bridged to agents outlive nobody: when the node is lost (killed,
/// stopped past its lease) the gateway ends them for the agents, who go to wrap-up, send their
/// dispositions (stored, and final, so the contact is not called again) and take their next
/// call from the node that takes the queue over. A node stopped with SIGTERM ends and reports
/// its calls itself.
@Suite("Cluster: no agent is stranded by a lost node", .serialized)
struct NodeLossClusterTests {
    static let agents = 6
    static let leaseMs = 2000

    @Test(arguments: NodeFault.allCases)
    func agentsOnTheCallsOfALostNodeWrapUpAndTakeTheirNextCall(fault: NodeFault) async throws {
        var timings = LocalTestCluster.Timings()
        timings.leaseMs = Self.leaseMs
        timings.trunkTimeScale = 10
        // Every customer answers and talks for an hour: the calls are bridged when the node goes.
        timings.trunkPopulationJSON = """
            {"outcomes": {"live": 1.0}, "ringSeconds": {"fixed": 2}, "greetingSeconds": {"fixed": 1},
             "talkSeconds": {"fixed": 3600}, "patienceSeconds": {"fixed": 60}}
            """
        let cluster = try LocalTestCluster(
            nodes: ["node-1", "node-2"], queues: [("sales", "campaign")], timings: timings)
        await cluster.runThenShutDown { try await run($0, fault: fault) }
    }

    private func run(_ cluster: LocalTestCluster, fault: NodeFault) async throws {
        try await cluster.start()
        let api = cluster.manager
        let post = cluster.post
        try await post("v1/lists", #"{"id": "leads", "name": "Leads"}"#)
        let rows = (0..<200).map { String(format: #"{"phone": "+813123%05d", "name": "Customer %d"}"#, $0, $0) }
        try await post(
            "v1/lists/leads/imports?format=json&default_region=JP&wait=true", "[" + rows.joined(separator: ",") + "]")
        try await post("v1/teams", #"{"id": "blue", "name": "Blue", "queue_ranking": [{"queue": "sales", "rank": 1}]}"#)
        for index in 0..<Self.agents {
            try await post(
                "v1/agents",
                #"{"id": "a\#(index)", "login": "a\#(index)", "name": "Agent \#(index)", "team": "blue", "password": "password-\#(index)"}"#
            )
        }
        // Progressive: the agent is reserved first, and the call reaches them with its contact
        // and attempt only through the confirm.
        try await post(
            "v1/campaigns",
            #"""
            {"id": "spring", "name": "Spring", "list": "leads", "queue": "sales", "settings": {"mode": "progressive",
             "dial_rate": 1, "status": "enabled", "maximum_attempts": 3, "time_zone": "Asia/Tokyo",
             "calling_hours": {"start": "00:00", "end": "24:00"}}}
            """#)
        try await post("v1/campaigns/spring/dispositions", #"{"name": "sale", "kind": "final"}"#)

        let contacts = Mutex<[String: String]>([:])
        let address = cluster.gatewayClusterAddress.split(separator: ":")
        let pool = SyntheticAgentPool(
            accounts: (0..<Self.agents).map { .init(login: "a\($0)", password: "password-\($0)") },
            // The agents never hang up: only the node's loss ends their calls.
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 2), dispositions: [.init(name: "sale", weight: 1)]),
            seed: 7)
        let ((owner, outcome), summary) = try await pool.run(
            host: String(address[0]), port: Int(address[1])!,
            settings: { cluster.connectionSettings(for: $0.login) },
            clock: ScaledClock(base: SystemClock(), scale: 10),
            observe: { _, event in
                if case .contactShown(_, let contact, let attempt) = event {
                    contacts.withLock { $0[attempt] = contact }
                }
            }
        ) { agents in
            try await afterCallsAreBridged(cluster, agents: agents, fault: fault)
        }
        #expect(summary.failures.isEmpty, "\(summary.failures)")

        // Every disposition of a lost call is stored with its attempt, and final.
        var stored: [String: AttemptBody] = [:]
        let allStored = await cluster.waitUntil(timeout: .seconds(60)) {
            for call in outcome where stored[call.attempt] == nil {
                guard let contact = contacts.withLock({ $0[call.attempt] }) else { return false }
                let history = try await api.get("v1/contacts/\(contact)/attempts", as: AttemptsBody.self)
                if let attempt = history.attempts.first(where: { $0.id == call.attempt }),
                    attempt.disposition?.name == "sale", attempt.outcome != nil
                {
                    stored[call.attempt] = attempt
                }
            }
            return stored.count == outcome.count
        }
        #expect(allStored, "dispositions stored for \(stored.count) of \(outcome.count) lost calls")
        for call in outcome {
            let contact = try #require(contacts.withLock { $0[call.attempt] }, "no contact card for \(call.attempt)")
            let history = try await api.get("v1/contacts/\(contact)/attempts", as: AttemptsBody.self)
            let last = history.attempts.first { $0.id == call.attempt }
            #expect(last?.disposition?.name == "sale", "\(call.agent)'s disposition: \(String(describing: last))")
            #expect(last?.agent == call.agent)
            switch fault {
            case .kill, .stop:
                #expect(
                    last?.outcome == "unknown" && last?.nodeLostOnCall == true,
                    "an agent talked: \(String(describing: last))")
            case .term:
                #expect(
                    last?.outcome == "connected" && last?.nodeLostOnCall == false,
                    "the node reported it: \(String(describing: last))")
            }
            let state = try await api.get("v1/contacts/\(contact)", as: ContactBody.self)
            #expect(state.state.kind == "final" && state.attempts == 1, "not called again: \(state)")
        }
        let report = try await api.get("v1/campaigns/spring/report", as: ReportBody.self)
        print("node loss (\(fault.rawValue)): \(report); agents: \(summary.tally)")
        if fault != .term { #expect(report.nodeLostOnCall >= outcome.count) }

        if fault == .stop {
            // The frozen node wakes: the gateway tells it to hang up the calls it lost, so that
            // no customer stays on a line without an agent.
            cluster.launcher.signal(owner, SIGCONT)
            var bridged: Double?
            let hungUp = await cluster.waitUntil(timeout: .seconds(30)) {
                bridged = try await Self.bridgedCalls(cluster, owner)
                return bridged == 0
            }
            #expect(hungUp, "the woken node still has \(String(describing: bridged)) calls bridged")
        }
    }

    /// The calls `node` has bridged, by its metrics.
    static func bridgedCalls(_ cluster: LocalTestCluster, _ node: String) async throws -> Double {
        try await cluster.metrics(of: node).split(separator: "\n")
            .filter { $0.hasPrefix("dialer_node_calls_in_flight{") && $0.contains(#"stage="bridged""#) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    private struct LostCall: Sendable {
        var agent: String
        var request: String
        var attempt: String
    }

    private struct ReportBody: Decodable {
        var attempts: Int
        var openAttempts: Int
        var attemptsByOutcome: [String: Int]
        var attemptsByDisposition: [String: Int]
        var nodeLostOnCall: Int
    }

    /// Waits until every agent is on a call, takes the fault to the queue's owner, and follows
    /// the agents until each has left that call and taken another; returns the calls lost.
    private func afterCallsAreBridged(
        _ cluster: LocalTestCluster, agents: [SyntheticAgent], fault: NodeFault
    ) async throws -> (owner: String, lost: [LostCall]) {
        func calls() async -> [LostCall] {
            var calls: [LostCall] = []
            for (index, agent) in agents.enumerated() {
                if case .onCall(let request, let attempt) = await agent.phase, let attempt {
                    calls.append(LostCall(agent: "a\(index)", request: request, attempt: attempt))
                }
            }
            return calls
        }
        let bridged = await cluster.waitUntil(timeout: .seconds(60)) { await calls().count == Self.agents }
        let onCalls = await calls().map(\.agent)
        try #require(bridged, "the agents were never all on calls with their attempts: \(onCalls)")
        let owner = try #require(try await cluster.table().queues.first { $0.id == "sales" }?.owner)
        let lost = await calls()
        // The node's own count agrees (and the metric the woken node is checked by is there).
        let counted = await cluster.waitUntil(timeout: .seconds(10)) {
            try await Self.bridgedCalls(cluster, owner) == Double(Self.agents)
        }
        #expect(counted, "\(owner)'s metrics do not show the \(Self.agents) bridged calls")

        let signal: Int32 =
            switch fault {
            case .kill: SIGKILL
            case .stop: SIGSTOP
            case .term: SIGTERM
            }
        let started = ContinuousClock.now
        cluster.launcher.signal(owner, signal)
        let freed = await cluster.waitUntil(timeout: .seconds(30)) {
            for call in lost {
                let index = Int(call.agent.dropFirst())!
                if case .onCall(call.request, _) = await agents[index].phase { return false }
            }
            return true
        }
        let freedAfter = ContinuousClock.now - started
        try #require(freed, "agents still on the calls of \(owner)")
        print("\(fault.rawValue): every agent left the lost calls after \(freedAfter) (lease \(Self.leaseMs) ms)")

        let nextCalls = await cluster.waitUntil(timeout: .seconds(60)) {
            let now = await calls()
            return lost.allSatisfy { call in now.contains { $0.agent == call.agent && $0.request != call.request } }
        }
        let onNextCalls = await calls().map(\.agent)
        try #require(nextCalls, "not every agent took a next call: \(onNextCalls)")
        let newOwner = try await cluster.table().queues.first { $0.id == "sales" }?.owner
        #expect(newOwner != nil && newOwner != owner)
        // A stopped node stays stopped: the manager closes its attempts after its lease, as for a
        // dead one (the cluster's shutdown wakes it to stop it).
        return (owner, lost)
    }
}
