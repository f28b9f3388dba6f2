import DialerCore
import Testing

@Suite("Queue runner state machine: random days keep every contact accounted for")
struct QueueRunnerRandomizedTests {
    /// Drives a runner with random trunk and gateway behaviour, then loses the lease and lets
    /// every call end. Every contact handed in must be dialed at most once and end reported or
    /// handed back, exactly once; every request for an agent must be settled.
    @Test(arguments: DialingMode.allCases)
    func everyContactIsDialedAtMostOnceAndEndsReportedOrReturned(mode: DialingMode) {
        for seed in UInt64(1)...40 {
            var random = SeededGenerator(seed: seed &* 7919 &+ UInt64(DialingMode.allCases.firstIndex(of: mode)!))
            var settings = CampaignSettings(mode: mode, dialRate: 2, ivrPorts: 3, attemptsPerFiveSeconds: 6)
            settings.answeringMachine = Bool.random(using: &random) ? .hangUp : .leaveMessage(message: "m")
            var runner = ScriptedRunner(settings, contactBuffer: 6)
            var handedIn = 0
            var dialed: Set<AttemptID> = []
            var ended: [AttemptID: Int] = [:]
            var ringing: Set<AttemptID> = []
            var answered: Set<AttemptID> = []
            var playing: Set<AttemptID> = []
            var openRequests: Set<RequestID> = []
            var pendingGrants: [RequestID] = []

            func absorb(_ actions: [QueueRunnerAction]) {
                for action in actions {
                    switch action {
                    case .originate(let attempt, _):
                        #expect(!dialed.contains(attempt), "seed \(seed): \(attempt) dialed twice")
                        dialed.insert(attempt)
                        ringing.insert(attempt)
                    case .report(let record):
                        ended[record.target.attempt, default: 0] += 1
                        ringing.remove(record.target.attempt)
                        answered.remove(record.target.attempt)
                        playing.remove(record.target.attempt)
                    case .returnContact(let target):
                        #expect(!dialed.contains(target.attempt), "seed \(seed): returned a dialed contact")
                        ended[target.attempt, default: 0] += 1
                    case .requestAgent(let draft):
                        openRequests.insert(draft.id)
                        pendingGrants.append(draft.id)
                    case .release(let id), .cancel(let id), .callEnded(let id):
                        openRequests.remove(id)
                    case .play(let attempt, _):
                        playing.insert(attempt)
                    case .hangUp(let attempt):
                        // The trunk's hang-up event comes later (step 5 sends it).
                        playing.remove(attempt)
                        answered.insert(attempt)
                    case .requestContacts, .confirm, .bridge, .finished:
                        break
                    }
                }
            }

            absorb(runner.send(.leaseHeld(Epoch(1))))
            for step in 0..<300 {
                runner.advance(.milliseconds(Int64.random(in: 50...1500, using: &random)))
                switch Int.random(in: 0..<10, using: &random) {
                case 0:
                    let count = Int.random(in: 0...4, using: &random)
                    absorb(
                        runner.send(
                            .contactsArrived(
                                ScriptedRunner.targets(count, from: handedIn + 1), exhausted: count == 0)))
                    handedIn += count
                case 1:
                    absorb(
                        runner.send(
                            .agentsChanged(
                                ScriptedRunner.agents(
                                    available: Int.random(in: 0...4, using: &random),
                                    onCall: Int.random(in: 0...3, using: &random)))))
                case 2, 3:
                    if let attempt = ringing.randomElement(using: &random) {
                        ringing.remove(attempt)
                        let outcome = Int.random(in: 0..<6, using: &random)
                        if outcome == 5 {
                            // The trunk refused it for its limits: never placed, so it may be
                            // dialed (once) again.
                            dialed.remove(attempt)
                            absorb(runner.send(.originateRefused(attempt)))
                            break
                        }
                        let now = runner.now
                        let progress: CallProgress =
                            switch outcome {
                            case 0: .answeredLive(at: now, greetingEndsAt: now + .seconds(1))
                            case 1: .answeredByMachine(at: now, detectedAt: now)
                            case 2: .busy(at: now)
                            case 3: .noAnswer(at: now)
                            default: .networkFailure(at: now)
                            }
                        if outcome <= 1 { answered.insert(attempt) }
                        absorb(runner.send(.progress(attempt, progress)))
                    }
                case 4:
                    if !pendingGrants.isEmpty {
                        let id = pendingGrants.remove(at: Int.random(in: 0..<pendingGrants.count, using: &random))
                        absorb(
                            runner.send(
                                Bool.random(using: &random)
                                    ? .agentGranted(id, AgentID("agent-\(step)")) : .agentNotGranted(id)))
                    }
                case 5:
                    if let attempt = answered.randomElement(using: &random) {
                        absorb(runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now))))
                    }
                case 6:
                    if let attempt = playing.randomElement(using: &random) {
                        absorb(runner.send(.progress(attempt, .messageFinished(CallMessage(id: "m"), at: runner.now))))
                    }
                default:
                    absorb(runner.send(.tick))
                }
            }
            // Wind down: no more calls; every call in flight ends.
            absorb(runner.send(.leaseLost))
            for id in pendingGrants { absorb(runner.send(.agentNotGranted(id))) }
            for attempt in runner.machine.attemptsInFlight {
                absorb(runner.send(.progress(attempt, .hungUp(by: .customer, at: runner.now))))
            }
            #expect(runner.machine.attemptsInFlight.isEmpty, "seed \(seed)")
            #expect(runner.machine.reservationsHeld == 0, "seed \(seed)")
            #expect(ended.count == handedIn, "seed \(seed): every contact reported or handed back")
            #expect(ended.values.allSatisfy { $0 == 1 }, "seed \(seed): each exactly once")
        }
    }
}
