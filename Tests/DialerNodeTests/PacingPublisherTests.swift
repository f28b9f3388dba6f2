import DialerCore
import Testing

@testable import DialerNode

/// When a queue's pacing is reported to the manager, and the dial rate it carries.
struct PacingPublisherTests {
    static func state(_ reason: PacingReason = .dialing, calls: Int = 1, started: Int) -> PacingState {
        PacingState(
            decision: PacingDecision(callsToStart: calls, reason: reason, dialLevel: 1.25), attemptsStarted: started,
            callsInFlight: 2)
    }

    @Test func nothingBeforeTheFirstDecision() {
        var publisher = PacingPublisher()
        #expect(publisher.sample(PacingState(decision: nil, attemptsStarted: 0, callsInFlight: 0), at: .zero) == nil)
    }

    @Test func aChangeIsReportedAtOnceAndAnUnchangedDecisionEveryFiveSeconds() throws {
        var publisher = PacingPublisher()
        let sampled = publisher.sample(Self.state(started: 0), at: .zero)
        let first = try #require(sampled)
        #expect(first.reason == "dialing" && first.callsToStart == 1 && first.dialLevel == 1.25)
        #expect(first.callsInFlight == 2)
        #expect(publisher.sample(Self.state(started: 0), at: .seconds(1)) == nil)
        let changed = publisher.sample(Self.state(.capped(.fiveSecondCap), started: 0), at: .seconds(2))
        let capped = try #require(changed)
        #expect(capped.reason == "capped:five-second-cap")
        for second in 3..<7 {
            #expect(publisher.sample(Self.state(.capped(.fiveSecondCap), started: 0), at: .seconds(second)) == nil)
        }
        #expect(publisher.sample(Self.state(.capped(.fiveSecondCap), started: 0), at: .seconds(7)) != nil)
    }

    @Test func theDialRateCountsTheLastMinute() throws {
        var publisher = PacingPublisher()
        // Ten calls a second for two minutes, sampled every second.
        var last: PacingSample?
        for second in 0...120 {
            last = publisher.sample(Self.state(started: second * 10), at: .seconds(second)) ?? last
        }
        #expect(last?.attemptsLastMinute == 600)
        // Then nothing for 61 seconds: the rate falls to zero.
        for second in 121...182 {
            last = publisher.sample(Self.state(started: 1200), at: .seconds(second)) ?? last
        }
        #expect(last?.attemptsLastMinute == 0)
    }

    @Test func everyReasonHasAName() {
        let reasons: [PacingReason] = [
            .dialing, .enoughInFlight, .noAgents, .previewOffers, .reservingAgents, .warmingUp,
            .abandonBudgetExhausted, .noContacts, .capped(.fiveSecondCap), .capped(.maximumDialRate),
            .capped(.overdialLimit), .capped(.remainingContacts), .capped(.abandonLimit),
        ]
        #expect(Set(reasons.map(\.name)).count == reasons.count)
        #expect(reasons.allSatisfy { !$0.name.isEmpty && !$0.name.contains(" ") })
    }
}
