import DialerCore
import Foundation
import Testing

/// A toy call centre in virtual time: seeded calls, a pool of agents, first-come-first-served
/// connection within the grace time, abandons otherwise. It knows nothing of the policy's
/// model: its durations are drawn from other shapes than the log-normals the policy fits.
private struct ToyCallCentre {
    struct Agent {
        /// The call the agent is on, or last had; a call may be scheduled to start later, while
        /// the agent finishes the one before (`previous`).
        var talkStart = -1.0
        var talkEnd = -1.0
        var wrapEnd = 0.0
        var previousTalkEnd = -1.0
        var previousWrapEnd = 0.0
    }

    var random: SeededGenerator
    let liveRate: Double
    let grace = 2.0
    var agents: [Agent]
    var answersDue: [(dialed: Double, answered: Double)] = []  // live calls still ringing
    var failuresDue: [Double] = []  // end moments of calls that will not be answered live
    var waitingUntil: [Double] = []  // connection moments of answered callers waiting for an agent
    var window = AbandonWindow(length: .seconds(24 * 3600), minimumLiveAnswersForWorst: 200)

    // What a campaign would measure.
    var attempts = 0
    var resolved = 0
    var liveAnswers = 0
    var timeToAnswer = Welford()
    var talk = Welford()
    var wrapUp = Welford()
    var busySeconds = 0.0

    init(agents: Int, liveRate: Double, seed: UInt64) {
        self.random = SeededGenerator(seed: seed)
        self.liveRate = liveRate
        self.agents = Array(repeating: Agent(), count: agents)
    }

    private mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        Double.random(in: range, using: &random)
    }

    private mutating func exponential(mean: Double) -> Double {
        -mean * log(1 - Double.random(in: 0..<1, using: &random))
    }

    mutating func start(calls: Int, at now: Double) {
        for _ in 0..<calls {
            attempts += 1
            if Double.random(in: 0..<1, using: &random) < liveRate {
                answersDue.append((now, now + uniform(6...20)))
            } else {
                // Busy signals end quickly, no-answers at the ring timeout.
                failuresDue.append(now + (Bool.random(using: &random) ? uniform(2...6) : 25))
            }
        }
    }

    /// Connects or abandons every caller answered by `now`, in answer order.
    mutating func advance(to now: Double) {
        let due = answersDue.filter { $0.answered <= now }.sorted { $0.answered < $1.answered }
        answersDue.removeAll { $0.answered <= now }
        resolved += failuresDue.count(where: { $0 <= now })
        failuresDue.removeAll { $0 <= now }
        waitingUntil.removeAll { $0 <= now }
        for (dialedAt, answeredAt) in due {
            resolved += 1
            liveAnswers += 1
            timeToAnswer.add(answeredAt - dialedAt)
            let index = agents.indices.min { agents[$0].wrapEnd < agents[$1].wrapEnd }!
            let freeAt = agents[index].wrapEnd
            guard freeAt <= answeredAt + grace else {
                window.recordLiveAnswer(at: .origin + .seconds(answeredAt), abandoned: true)
                continue
            }
            window.recordLiveAnswer(at: .origin + .seconds(answeredAt), abandoned: false)
            let connect = max(answeredAt, freeAt)
            if connect > now { waitingUntil.append(connect) }
            let talkTime = 20 + exponential(mean: 70)
            let wrapTime = uniform(5...15)
            talk.add(talkTime)
            wrapUp.add(wrapTime)
            busySeconds += talkTime + wrapTime
            var agent = agents[index]
            agent.previousTalkEnd = agent.talkEnd
            agent.previousWrapEnd = agent.wrapEnd
            agent.talkStart = connect
            agent.talkEnd = connect + talkTime
            agent.wrapEnd = connect + talkTime + wrapTime
            agents[index] = agent
        }
    }

    func picture(at now: Double) -> AgentPicture {
        var picture = AgentPicture()
        for agent in agents {
            // An agent whose next call has not started yet is still finishing the one before.
            let (talkStart, talkEnd, wrapEnd) =
                agent.talkStart > now
                ? (-Double.infinity, agent.previousTalkEnd, agent.previousWrapEnd)
                : (agent.talkStart, agent.talkEnd, agent.wrapEnd)
            if now < talkEnd {
                picture.onCall.append(.seconds(max(0, now - talkStart)))
            } else if now < wrapEnd {
                picture.wrapUp.append(.seconds(now - talkEnd))
            } else {
                picture.available.append(.seconds(now - wrapEnd))
            }
        }
        return picture
    }

    mutating func statistics(at now: Double) -> CampaignStatistics {
        CampaignStatistics(
            attempts: resolved,
            liveAnswers: liveAnswers,
            answerRate: resolved > 0 ? Double(liveAnswers) / Double(resolved) : 0,
            timeToAnswer: timeToAnswer.summary(default: 15),
            talkTime: talk.summary(default: 120),
            wrapUpTime: wrapUp.summary(default: 15),
            window: window.counts(at: .origin + .seconds(now))
        )
    }
}

/// Running mean and variance.
private struct Welford {
    var count = 0.0
    var mean = 0.0
    var squares = 0.0

    mutating func add(_ value: Double) {
        count += 1
        let delta = value - mean
        mean += delta / count
        squares += delta * (value - mean)
    }

    func summary(default fallback: Double) -> DistributionSummary {
        guard count > 1 else { return DistributionSummary(mean: .seconds(fallback)) }
        return DistributionSummary(
            mean: .seconds(mean), standardDeviation: .seconds((squares / (count - 1)).squareRoot()))
    }
}

/// What a run of the toy call centre achieved.
private struct Outcome {
    var abandonRate: Double
    var worstWindowRate: Double
    var occupancy: Double
}

/// Drives `policy` against the toy call centre, pacing once a virtual second, for `attempts`.
private func simulate(_ policy: some PacingPolicy, seed: UInt64, attempts: Int) -> Outcome {
    var policy = policy
    var centre = ToyCallCentre(agents: 20, liveRate: 0.3, seed: seed)
    var now = 0.0
    while centre.attempts < attempts {
        now += 1
        centre.advance(to: now)
        let input = PacingInput(
            now: .origin + .seconds(now),
            agents: centre.picture(at: now),
            calls: CallsInFlight(
                dialing: centre.answersDue.count + centre.failuresDue.count,
                answeredWaiting: centre.waitingUntil.count
            ),
            statistics: centre.statistics(at: now)
        )
        centre.start(calls: policy.decide(input).callsToStart, at: now)
    }
    return Outcome(
        abandonRate: centre.window.totalRate ?? 0,
        worstWindowRate: centre.window.worstRate ?? 0,
        occupancy: centre.busySeconds / (now * Double(centre.agents.count))
    )
}

@Suite("Predictive pacing against a toy call centre")
struct PredictiveMonteCarloTests {
    @Test(arguments: [UInt64(1), 2])
    func holdsTheAbandonTargetAndKeepsAgentsBusier(seed: UInt64) {
        let predictive = simulate(PredictivePacing(target: .abandonRate(0.03)), seed: seed, attempts: 3000)
        #expect(predictive.abandonRate <= 0.03)
        // Every window of 200 answers or more, not just the whole run.
        #expect(predictive.worstWindowRate <= 0.03)

        // One line per ready agent never abandons by design but leaves agents idle while it rings.
        let oneToOne = simulate(PowerPacing(callsPerReadyAgent: 1), seed: seed, attempts: 3000)
        #expect(predictive.occupancy > 0.7)
        #expect(predictive.occupancy > oneToOne.occupancy + 0.05)
    }
}
