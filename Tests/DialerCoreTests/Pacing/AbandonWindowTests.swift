import DialerCore
import Testing

@Suite("Rolling-window abandon accounting")
struct AbandonWindowTests {
    private func at(_ seconds: Double) -> Moment { .origin + .seconds(seconds) }

    @Test func countsLiveAnswersAndAbandonsInsideTheWindow() {
        var window = AbandonWindow(length: .seconds(100), minimumLiveAnswersForWorst: 1)
        for second in 0..<50 {
            window.recordLiveAnswer(at: at(Double(second)), abandoned: second % 10 == 0)
        }
        #expect(window.liveAnswers == 50)
        #expect(window.abandons == 5)
        #expect(window.rate == 0.1)

        // At t = 125 the answers of t ≤ 25 have left the window (it is (25, 125]).
        let counts = window.counts(at: at(125))
        #expect(counts.liveAnswers == 24)
        #expect(counts.abandons == 2)
        #expect(counts.window == .seconds(100))
        #expect(window.totalLiveAnswers == 50)
        #expect(window.totalAbandons == 5)
        #expect(window.totalRate == 0.1)

        window.advance(to: at(1000))
        #expect(window.liveAnswers == 0)
        #expect(window.rate == nil)
    }

    @Test func anAbandonCountsAtItsAnswerMomentEvenWhenRecordedLate() {
        var window = AbandonWindow(length: .seconds(10), minimumLiveAnswersForWorst: 1)
        window.recordLiveAnswer(at: at(5), abandoned: false)
        window.recordLiveAnswer(at: at(6), abandoned: false)
        // Answered at 4, known abandoned at 6: it must leave the window before the others.
        window.recordLiveAnswer(at: at(4), abandoned: true)
        #expect(window.abandons == 1)
        window.advance(to: at(14))
        #expect(window.liveAnswers == 2)
        #expect(window.abandons == 0)
    }

    @Test func worstWindowCatchesTheRiseWhenConnectedAnswersExpire() {
        var window = AbandonWindow(length: .seconds(100), minimumLiveAnswersForWorst: 2)
        // Ten connected answers early, then two answers of which one abandoned late on.
        for second in 0..<10 { window.recordLiveAnswer(at: at(Double(second)), abandoned: false) }
        window.recordLiveAnswer(at: at(90), abandoned: true)
        window.recordLiveAnswer(at: at(95), abandoned: false)
        #expect(window.worstRate == 1.0 / 11.0)
        // When the early answers leave (t ≥ 109), the window holds 1 abandon in 2 answers.
        window.advance(to: at(150))
        #expect(window.worstRate == 0.5)
        #expect(window.worstWindowEnd == at(109))
        #expect(window.rate == 0.5)
    }

    @Test func worstWindowIgnoresWindowsWithTooFewAnswers() {
        var window = AbandonWindow(length: .seconds(3600), minimumLiveAnswersForWorst: 100)
        window.recordLiveAnswer(at: at(1), abandoned: true)
        #expect(window.rate == 1)
        #expect(window.worstRate == nil)
        for second in 2...200 { window.recordLiveAnswer(at: at(Double(second)), abandoned: false) }
        #expect(window.worstRate == 1.0 / 100.0)
        #expect(window.worstWindowEnd == at(100))
    }

    @Test func theWindowNeverMovesBackwards() {
        var window = AbandonWindow(length: .seconds(10), minimumLiveAnswersForWorst: 1)
        window.recordLiveAnswer(at: at(20), abandoned: false)
        window.advance(to: at(5))
        #expect(window.latest == at(20))
        #expect(window.liveAnswers == 1)
    }
}
