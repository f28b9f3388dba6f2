import DialerCore
import Foundation
import Testing

/// Hand-out and results: idempotent by attempt id, retries per outcome, the attempt limit,
/// callbacks, and lost nodes.
@Suite struct ContactLedgerTests: CampaignFixtures {
    var start: Date { utc(2026, 6, 10, 12) }

    func ledger(_ settings: CampaignSettings? = nil, contacts: [Contact]? = nil) -> ContactLedger {
        ContactLedger(settings: settings ?? openCampaign(), contacts: contacts ?? [contact("c1")])
    }

    func result(_ attempt: String, _ outcome: AttemptOutcome, contact: String = "c1", disposition: Disposition? = nil)
        -> AttemptResult
    {
        AttemptResult(
            attempt: AttemptID(attempt), contact: ContactID(contact), outcome: outcome, disposition: disposition)
    }

    /// The error starting `attempt` on `contact` throws, or `nil` if it starts.
    func startError(_ book: inout ContactLedger, _ attempt: String, _ contact: String, now: Date) -> AttemptStartError?
    {
        do {
            try book.startAttempt(AttemptID(attempt), contact: ContactID(contact), now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func eachOutcomeSchedulesItsRetryInterval() throws {
        let intervals = RetryIntervals(
            busy: .seconds(60), noAnswer: .seconds(120), machine: .seconds(180), networkFailure: .seconds(240),
            unknown: .seconds(300), abandoned: .seconds(360), agentRetry: .seconds(420))
        var settings = openCampaign(maximumAttempts: 10)
        settings.retryIntervals = intervals
        let expected: [(AttemptOutcome, Double)] = [
            (.busy, 60), (.noAnswer, 120), (.machine, 180), (.networkFailure, 240), (.unknown, 300), (.abandoned, 360),
        ]
        for (outcome, seconds) in expected {
            var book = ledger(settings)
            try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
            let end = start.addingTimeInterval(30)
            guard case .applied(let updated) = book.apply(result: result("a1", outcome), now: end) else {
                Issue.record("result not applied for \(outcome)")
                continue
            }
            #expect(updated.state == .scheduled(at: end.addingTimeInterval(seconds)), "\(outcome)")
            #expect(updated.attempts == 1)
            #expect(updated.lastOutcome == outcome)
        }
    }

    @Test func liveAnswersAndInvalidNumbersCloseTheContact() throws {
        for outcome in [AttemptOutcome.connected, .invalidNumber] {
            var book = ledger()
            try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
            #expect(book.apply(result: result("a1", outcome), now: start) != .duplicate)
            #expect(book.contacts[ContactID("c1")]?.state == .final(.outcome(outcome)))
        }
    }

    @Test func anOutcomeWithoutARetryIntervalClosesTheContact() throws {
        var settings = openCampaign()
        settings.retryIntervals.machine = nil
        var book = ledger(settings)
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        _ = book.apply(result: result("a1", .machine), now: start)
        #expect(book.contacts[ContactID("c1")]?.state == .final(.outcome(.machine)))
    }

    @Test func aSecondResultForTheSameAttemptChangesNothing() throws {
        var book = ledger()
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        guard case .applied(let first) = book.apply(result: result("a1", .busy), now: start) else {
            Issue.record("first result not applied")
            return
        }
        let before = book.contacts
        let records = book.attempts
        #expect(book.apply(result: result("a1", .busy), now: start.addingTimeInterval(5)) == .duplicate)
        #expect(book.apply(result: result("a1", .connected), now: start.addingTimeInterval(9)) == .duplicate)
        #expect(book.contacts == before)
        #expect(book.attempts == records)
        #expect(book.contacts[ContactID("c1")] == first)
        // Unknown attempts, and results naming the wrong contact, change nothing either.
        #expect(book.apply(result: result("zz", .busy), now: start) == .unknownAttempt)
        #expect(book.apply(result: result("a1", .busy, contact: "other"), now: start) == .unknownAttempt)
    }

    @Test func aResultOfAnOlderAttemptDoesNotTouchTheCurrentOne() throws {
        var book = ledger()
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        _ = book.apply(result: result("a1", .busy), now: start)
        try book.startAttempt(AttemptID("a2"), contact: ContactID("c1"), now: start.addingTimeInterval(600))
        #expect(book.apply(result: result("a1", .connected), now: start.addingTimeInterval(601)) == .duplicate)
        #expect(book.contacts[ContactID("c1")]?.state == .inAttempt(AttemptID("a2")))
    }

    @Test func aContactIsNeverInTwoOpenAttempts() throws {
        var book = ledger(contacts: [contact("c1"), contact("c2")])
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        #expect(
            startError(&book, "a2", "c1", now: start)
                == AttemptStartError.alreadyInAttempt(contact: ContactID("c1"), attempt: AttemptID("a1")))
        #expect(startError(&book, "a1", "c2", now: start) == AttemptStartError.duplicateAttempt(AttemptID("a1")))
        #expect(startError(&book, "a3", "nobody", now: start) == AttemptStartError.unknownContact(ContactID("nobody")))
        #expect(book.openAttempts.map(\.id) == [AttemptID("a1")])
        #expect(book.contacts[ContactID("c1")]?.attempts == 1)
        // Nor can a contact be replaced under its open attempt.
        let replaced = book.upsert(contact("c1"))
        #expect(!replaced)
    }

    @Test func theLastAllowedAttemptClosesTheContactAsExhausted() throws {
        var book = ledger(openCampaign(maximumAttempts: 2))
        var now = start
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: now)
        _ = book.apply(result: result("a1", .noAnswer), now: now)
        #expect(book.contacts[ContactID("c1")]?.state.kind == .scheduled)
        now = now.addingTimeInterval(3 * 3600)
        try book.startAttempt(AttemptID("a2"), contact: ContactID("c1"), now: now)
        _ = book.apply(result: result("a2", .noAnswer), now: now)
        #expect(book.contacts[ContactID("c1")]?.state == .final(.attemptsExhausted))
        #expect(book.exhaustedCount == 1)
        #expect(book.report(now: now).exhausted == 1)
        #expect(startError(&book, "a3", "c1", now: now) == AttemptStartError.contactFinal(ContactID("c1")))
        // An operator's reset reopens it.
        #expect(book.resetAttempts(now: now) == 1)
        #expect(book.contacts[ContactID("c1")]?.state == .fresh)
        #expect(book.contacts[ContactID("c1")]?.attempts == 0)
    }

    @Test func dispositionsDecideOverTheOutcome() throws {
        var book = ledger(openCampaign(maximumAttempts: 1), contacts: [contact("c1"), contact("c2"), contact("c3")])
        let tomorrow = start.addingTimeInterval(86_400)
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        try book.startAttempt(AttemptID("a2"), contact: ContactID("c2"), now: start)
        try book.startAttempt(AttemptID("a3"), contact: ContactID("c3"), now: start)
        _ = book.apply(result: result("a1", .connected, contact: "c1", disposition: .final("sale")), now: start)
        _ = book.apply(
            result: result(
                "a2", .connected, contact: "c2", disposition: .callback("call me", at: tomorrow, privateTo: alice)),
            now: start)
        _ = book.apply(result: result("a3", .connected, contact: "c3", disposition: .retry("busy now")), now: start)
        #expect(book.contacts[ContactID("c1")]?.state == .final(.disposition("sale")))
        // The callback is kept although the contact used its only attempt.
        let c2 = try #require(book.contacts[ContactID("c2")])
        #expect(c2.state == .scheduled(at: tomorrow))
        #expect(c2.callback == Callback(at: tomorrow, privateAgent: alice))
        #expect(c2.lastDisposition == "call me")
        // A plain retry is bound by the limit.
        #expect(book.contacts[ContactID("c3")]?.state == .final(.attemptsExhausted))
        // The callback is dialable at its time, for alice only, and consumed by the attempt.
        #expect(
            Dialability.evaluate(
                contact: c2, campaign: book.settings, dnc: DoNotCallList(), now: tomorrow,
                privateAgentPresent: { $0 == alice }) == .dialable(privateAgent: alice))
        try book.startAttempt(AttemptID("a4"), contact: ContactID("c2"), now: tomorrow)
        _ = book.apply(result: result("a4", .busy, contact: "c2"), now: tomorrow)
        #expect(book.contacts[ContactID("c2")]?.callback == nil)
        #expect(book.contacts[ContactID("c2")]?.state == .final(.attemptsExhausted))
    }

    @Test func aDispositionAfterTheResultAppliesOnce() throws {
        var book = ledger()
        let at = start.addingTimeInterval(7200)
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), now: start)
        // Recorded while the attempt is open: refused, the node must send it with the result.
        #expect(book.apply(disposition: .final("early"), attempt: AttemptID("a1"), now: start) == .attemptStillOpen)
        _ = book.apply(result: result("a1", .connected), now: start)
        #expect(book.contacts[ContactID("c1")]?.state == .final(.outcome(.connected)))
        let update = book.apply(
            disposition: .callback("later", at: at), attempt: AttemptID("a1"), agent: alice,
            now: start.addingTimeInterval(30))
        #expect(update != .duplicate)
        #expect(book.contacts[ContactID("c1")]?.state == .scheduled(at: at))
        #expect(book.attempts[AttemptID("a1")]?.disposition?.name == "later")
        #expect(book.apply(disposition: .final("again"), attempt: AttemptID("a1"), now: start) == .duplicate)
        #expect(book.contacts[ContactID("c1")]?.state == .scheduled(at: at))
        #expect(book.apply(disposition: .final("x"), attempt: AttemptID("nope"), now: start) == .unknownAttempt)
    }

    @Test func aLostNodesAttemptsCloseAsUnknownAndRetryAfterTheInterval() throws {
        var settings = openCampaign()
        settings.retryIntervals.unknown = .seconds(900)
        var book = ledger(settings, contacts: [contact("c1"), contact("c2"), contact("c3")])
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), node: node1, now: start)
        try book.startAttempt(AttemptID("a2"), contact: ContactID("c2"), node: node1, now: start)
        try book.startAttempt(AttemptID("a3"), contact: ContactID("c3"), node: node2, now: start)
        _ = book.apply(result: result("a2", .busy, contact: "c2"), now: start.addingTimeInterval(10))
        let lostAt = start.addingTimeInterval(20)
        #expect(book.nodeLost(node1, now: lostAt) == [AttemptID("a1")])
        let c1 = try #require(book.contacts[ContactID("c1")])
        #expect(c1.state == .scheduled(at: lostAt.addingTimeInterval(900)))
        #expect(c1.lastOutcome == .unknown)
        #expect(book.attempts[AttemptID("a1")]?.outcome == .unknown)
        // Not at once: held until the interval has passed.
        #expect(
            Dialability.evaluate(
                contact: c1, campaign: settings, dnc: DoNotCallList(), now: lostAt, privateAgentPresent: { _ in true }
            ).holds == [DialabilityHold(.notDue, until: lostAt.addingTimeInterval(900))])
        // The other node's attempt is untouched; a late result from the lost node is a duplicate.
        #expect(book.contacts[ContactID("c3")]?.state == .inAttempt(AttemptID("a3")))
        #expect(book.apply(result: result("a1", .connected), now: lostAt) == .duplicate)
        #expect(book.nodeLost(node1, now: lostAt) == [])
    }

    @Test func unknownIsNeverRetriedAtOnceEvenIfMisconfigured() throws {
        var settings = openCampaign()
        settings.retryIntervals.unknown = .zero
        #expect(settings.validate().map(\.field) == ["retryIntervals.unknown"])
        var book = ledger(settings)
        try book.startAttempt(AttemptID("a1"), contact: ContactID("c1"), node: node1, now: start)
        book.nodeLost(node1, now: start)
        #expect(
            book.contacts[ContactID("c1")]?.state
                == .scheduled(at: start.addingTimeInterval(RetryIntervals.minimumUnknown.seconds)))
    }

    @Test func reportCountsContactsAttemptsAndAbandonWindows() throws {
        var book = ledger(openCampaign(maximumAttempts: 1), contacts: (1...6).map { contact("c\($0)") })
        let now = utc(2026, 6, 30, 12)
        // (contact, outcome, answered how long before now)
        let plan: [(String, AttemptOutcome, Double?)] = [
            ("c1", .connected, 3600),  // in both windows
            ("c2", .abandoned, 7200),  // in both windows
            ("c3", .connected, 2 * 86_400),  // 30 days only
            ("c4", .abandoned, 40 * 86_400),  // neither
            ("c5", .machine, 3600),
        ]
        for (index, (id, outcome, age)) in plan.enumerated() {
            let attempt = AttemptID("a\(index)")
            let answered = age.map { now.addingTimeInterval(-$0) }
            try book.startAttempt(attempt, contact: ContactID(id), now: answered ?? now)
            _ = book.apply(
                result: AttemptResult(
                    attempt: attempt, contact: ContactID(id), outcome: outcome,
                    disposition: outcome == .connected ? .final("sale") : nil, answeredAt: answered),
                now: answered ?? now)
        }
        try book.startAttempt(AttemptID("open"), contact: ContactID("c6"), now: now)
        let report = book.report(now: now)
        #expect(report.contacts == 6)
        #expect(report.contactsByState == [.final: 5, .inAttempt: 1])
        #expect(report.contactsByLastOutcome == [.connected: 2, .abandoned: 2, .machine: 1])
        #expect(report.contactsByLastDisposition == ["sale": 2])
        #expect(report.exhausted == 3)
        #expect(report.attempts == 6)
        #expect(report.openAttempts == 1)
        #expect(report.attemptsByOutcome == [.connected: 2, .abandoned: 2, .machine: 1])
        #expect(report.attemptsByDisposition == ["sale": 2])
        #expect(report.liveAnswers == 4)
        #expect(report.abandons == 2)
        #expect(report.machines == 1)
        #expect(report.abandonRate == 0.5)
        #expect(report.abandonRate24Hours == WindowedAbandonRate(window: .twentyFourHours, liveAnswers: 2, abandons: 1))
        #expect(report.abandonRate30Days == WindowedAbandonRate(window: .thirtyDays, liveAnswers: 3, abandons: 1))
        #expect(report.abandonRate30Days.rate == 1.0 / 3.0)
    }
}
