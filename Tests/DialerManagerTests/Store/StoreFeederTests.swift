import DialerCore
import Foundation
import Testing

@testable import DialerManager

/// Hands out `count` contacts of campaign c1 at `now`.
private func checkOut(
    _ store: any TestStore, count: Int, at now: Date = StoreTime.monday, node: String = "n1",
    agents: Set<AgentID> = []
) async throws -> [AttemptHandOut] {
    try await store.checkOutAttempts(
        campaign: CampaignID("c1"), count: count, node: MemberID(node), epoch: Epoch(1), now: now,
        presentAgents: agents)
}

private func result(_ handOut: AttemptHandOut, _ outcome: AttemptOutcome, disposition: Disposition? = nil)
    -> AttemptResult
{
    AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: outcome, disposition: disposition)
}

@Suite("Store: the feeder's hand-outs")
struct StoreFeederTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func contactsGoOutInPriorityOrderAndNeverTwiceWhileOpen(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let contacts = try await addContacts(store, count: 5) { [3, 1, 2, 1, 0][$0] }
        let first = try await checkOut(store, count: 3)
        #expect(first.map(\.contact.id) == [contacts[4].id, contacts[1].id, contacts[3].id])
        for handOut in first {
            #expect(handOut.contact.state == .inAttempt(handOut.attempt))
            #expect(handOut.contact.attempts == 1)
            #expect(try await store.contact(handOut.contact.id) == handOut.contact)
            let record = try #require(try await store.attempt(handOut.attempt))
            #expect(record.isOpen && record.node == MemberID("n1") && record.startedAt == StoreTime.monday)
        }
        let second = try await checkOut(store, count: 10)
        #expect(second.map(\.contact.id) == [contacts[2].id, contacts[0].id])
        #expect(try await checkOut(store, count: 10).isEmpty)
        #expect(Set((first + second).map(\.attempt)).count == 5)
        #expect(try await store.openAttempts(campaign: CampaignID("c1")).count == 5)
    }

    @Test(arguments: StoreKind.allCases) func aDisabledCampaignOrAClosedWindowHandsOutNothing(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let campaign = try await makeCampaign(store, settings: CampaignSettings(status: .disabled))
        try await addContacts(store, count: 2)
        #expect(try await checkOut(store, count: 5).isEmpty)

        var windowed = campaign
        windowed.settings.status = .enabled
        // Monday 14:00 to 16:00 UTC: closed at noon, open at 15:00.
        windowed.settings.windows = [
            CallingWindow(weekday: .monday, start: LocalTime(hour: 14), end: LocalTime(hour: 16))
        ]
        _ = try await store.updateCampaign(windowed, now: StoreTime.monday)
        #expect(try await checkOut(store, count: 5).isEmpty)
        #expect(try await checkOut(store, count: 5, at: StoreTime.minutes(180)).count == 2)
    }

    @Test(arguments: StoreKind.allCases) func contactsOutsideTheirCallingHoursWait(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        // 12:00 UTC is 04:00 in Los Angeles, 13:00 in Copenhagen.
        let western = try await store.addContact(
            to: ContactListID("l1"), ContactDraft(phone: danishNumber(1), timeZone: "America/Los_Angeles"),
            defaultRegion: "DK", now: StoreTime.minutes(-60))
        let local = try await store.addContact(
            to: ContactListID("l1"), ContactDraft(phone: danishNumber(2), priority: 9), defaultRegion: "DK",
            now: StoreTime.minutes(-60))
        #expect(try await checkOut(store, count: 5).map(\.contact.id) == [local.id])
        // 16:00 in Los Angeles.
        #expect(try await checkOut(store, count: 5, at: StoreTime.minutes(12 * 60)).map(\.contact.id) == [western.id])
    }

    @Test(arguments: StoreKind.allCases) func doNotCallNumbersAreNeverHandedOut(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await makeCampaign(store, id: "c2", list: "l2")
        let contacts = try await addContacts(store, count: 6)
        _ = try await store.addDoNotCall(
            contacts[1].phoneNumber, scope: .global, defaultRegion: "DK", note: nil, now: StoreTime.monday)
        _ = try await store.addDoNotCall(
            contacts[3].phoneNumber, scope: .campaign(CampaignID("c1")), defaultRegion: "DK", note: nil,
            now: StoreTime.monday)
        // Another campaign's list does not hold c1's contacts back.
        _ = try await store.addDoNotCall(
            contacts[5].phoneNumber, scope: .campaign(CampaignID("c2")), defaultRegion: "DK", note: nil,
            now: StoreTime.monday)
        let handedOut = try await checkOut(store, count: 100)
        #expect(Set(handedOut.map(\.contact.id)) == Set([0, 2, 4, 5].map { contacts[$0].id }))
        for handOut in handedOut {
            _ = try await store.recordResult(result(handOut, .busy), now: StoreTime.monday)
        }
        // Not after a retry interval either.
        let later = try await checkOut(store, count: 100, at: StoreTime.minutes(24 * 60 + 60))
        #expect(Set(later.map(\.contact.id)) == Set([0, 2, 4, 5].map { contacts[$0].id }))

        let why = try #require(
            try await store.dialability(of: contacts[1].id, now: StoreTime.minutes(24 * 60 + 60), presentAgents: []))
        #expect(why.verdict.holds == [DialabilityHold(.doNotCall, until: nil)])
        #expect(why.earliestDialable == nil)
    }

    @Test(arguments: StoreKind.allCases) func aScheduledRetryWaitsUntilItIsDue(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        var settings = CampaignSettings.dialing
        settings.retryIntervals.noAnswer = .seconds(2 * 3600)
        settings.freshVersusRetry = .retriesFirst
        try await makeCampaign(store, settings: settings)
        try await addContacts(store, count: 1)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        let update = try await store.recordResult(result(handOut, .noAnswer), now: StoreTime.monday)
        guard case .applied(let contact) = update else {
            Issue.record("not applied: \(update)")
            return
        }
        #expect(contact.state == .scheduled(at: StoreTime.minutes(120)))
        let fresh = try await addContacts(store, count: 1, from: 1)
        // Before it is due the fresh contact goes; once due, the retry goes first.
        #expect(try await checkOut(store, count: 5, at: StoreTime.minutes(60)).map(\.contact.id) == [fresh[0].id])
        #expect(try await checkOut(store, count: 5, at: StoreTime.minutes(119)).isEmpty)
        let retried = try await checkOut(store, count: 5, at: StoreTime.minutes(120))
        #expect(retried.map(\.contact.id) == [contact.id])
        #expect(retried.first?.contact.attempts == 2)
    }

    @Test(arguments: StoreKind.allCases) func aPrivateCallbackWaitsForItsAgentAndGoesFirst(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let contacts = try await addContacts(store, count: 3) { $0 == 0 ? 5 : 0 }
        let handOut = try #require(try await checkOut(store, count: 1).first)
        #expect(handOut.contact.id == contacts[1].id)
        let agent = AgentID("a1")
        let callback = Disposition.callback("call back", at: StoreTime.minutes(30), privateTo: agent)
        _ = try await store.recordResult(result(handOut, .connected, disposition: callback), now: StoreTime.monday)

        #expect(try await checkOut(store, count: 1, at: StoreTime.minutes(10)).map(\.contact.id) == [contacts[2].id])
        // Due, but its agent is not logged in: the other contact goes.
        #expect(try await checkOut(store, count: 5, at: StoreTime.minutes(30)).map(\.contact.id) == [contacts[0].id])
        let why = try #require(
            try await store.dialability(of: contacts[1].id, now: StoreTime.minutes(30), presentAgents: []))
        #expect(why.verdict.holds.map(\.rule) == [.privateAgentAbsent])
        let taken = try await checkOut(store, count: 5, at: StoreTime.minutes(31), agents: [agent])
        #expect(taken.map(\.contact.id) == [contacts[1].id])
        #expect(taken.first?.contact.privateCallbackAgent == agent)
    }

    @Test(arguments: StoreKind.allCases) func theCheckOutAgreesWithFeederSelectionOverTheWholeCampaign(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        var settings = CampaignSettings.dialing
        settings.priorityOrder = [SortKey(.field("score"), .descending), SortKey(.priority)]
        settings.freshVersusRetry = .interleaved
        settings.retryIntervals.busy = .seconds(300)
        settings.maximumAttempts = 3
        let campaign = try await makeCampaign(store, settings: settings)
        var generator = SplitMix(seed: 7)
        let scores = ["10", "9", " 9.5", "n/a", "", "abc", "100"]
        for index in 0..<80 {
            var fields: [String: String] = [:]
            if index % 5 != 0 { fields["score"] = scores[Int(generator.next() % UInt64(scores.count))] }
            let zone = index % 7 == 0 ? "America/Los_Angeles" : nil
            _ = try await store.addContact(
                to: ContactListID("l1"),
                ContactDraft(
                    phone: danishNumber(index), timeZone: zone, priority: Int(generator.next() % 3), fields: fields),
                defaultRegion: "DK", now: StoreTime.minutes(Double(-1_000 + Int(generator.next() % 5))))
        }
        for index in stride(from: 3, to: 80, by: 11) {
            _ = try await store.addDoNotCall(
                danishNumber(index), scope: .global, defaultRegion: "DK", note: nil, now: StoreTime.monday)
        }
        // Some contacts get busy results at different times: some retries are due, some not.
        var now = StoreTime.minutes(-30)
        for _ in 0..<3 {
            for handOut in try await checkOut(store, count: 12, at: now) {
                _ = try await store.recordResult(result(handOut, .busy), now: now)
            }
            now = now.addingTimeInterval(240)
        }

        let all = try await store.searchContacts(ContactFilter(), after: nil, limit: 1_000).contacts
        let dnc = DoNotCallList(Set(stride(from: 3, to: 80, by: 11).map(danishNumber)))
        let expected = FeederSelection.choose(
            from: all, campaign: campaign.settings, count: 25, now: StoreTime.monday, dnc: dnc,
            privateAgentPresent: { _ in false })
        let handedOut = try await checkOut(store, count: 25)
        #expect(handedOut.map(\.contact.id) == expected.map(\.id))
        #expect(handedOut.count == 25)

        // "Why not dialable" agrees with the feeder: every contact it calls dialable is handed
        // out, none it holds is, and the campaign's count is the same.
        var dialable: Set<ContactID> = []
        var held = 0
        for contact in all {
            let why = try #require(
                try await store.dialability(of: contact.id, now: StoreTime.monday, presentAgents: []))
            if why.verdict.isDialable { dialable.insert(contact.id) } else { held += 1 }
        }
        #expect(held > 0, "the campaign must hold some contacts back for this test to mean anything")
        let summary = try #require(
            try await store.campaignSummary(CampaignID("c1"), now: StoreTime.monday, presentAgents: []))
        #expect(summary.dialableNow == dialable.count)
        let rest = try await checkOut(store, count: 1_000)
        #expect(Set(rest.map(\.contact.id)) == dialable)
    }

    @Test(arguments: StoreKind.allCases) func concurrentCheckOutsNeverShareAContact(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 120)
        let handOuts = try await withThrowingTaskGroup(of: [AttemptHandOut].self) { group in
            for node in ["n1", "n2"] {
                group.addTask {
                    var mine: [AttemptHandOut] = []
                    for _ in 0..<10 {
                        mine += try await checkOut(store, count: 9, node: node)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(handOuts.count == 120)
        #expect(Set(handOuts.map(\.contact.id)).count == 120)
        #expect(Set(handOuts.map(\.attempt)).count == 120)
        #expect(try await store.openAttempts(campaign: nil).count == 120)
    }

    @Test(arguments: StoreKind.allCases) func theDatabaseRefusesASecondOpenAttemptForAContact(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        await #expect(throws: (any Error).self) {
            try await store.insertOpenAttemptForTesting(
                id: "second", campaign: CampaignID("c1"), contact: handOut.contact.id)
        }
    }
}

@Suite("Store: results and lost nodes")
struct StoreResultTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func aResultAppliesOnce(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        var answered = result(handOut, .connected, disposition: .final("sale"))
        answered.agent = AgentID("a1")
        answered.answeredAt = StoreTime.minutes(1)
        let first = try await store.recordResult(answered, now: StoreTime.minutes(3))
        guard case .applied(let contact) = first else {
            Issue.record("not applied: \(first)")
            return
        }
        #expect(contact.state == .final(.disposition("sale")))
        #expect(contact.lastOutcome == .connected && contact.lastDisposition == "sale")

        // The same result again, or another for the same attempt: nothing changes.
        #expect(try await store.recordResult(answered, now: StoreTime.minutes(4)) == .duplicate)
        #expect(try await store.recordResult(result(handOut, .busy), now: StoreTime.minutes(4)) == .duplicate)
        #expect(try await store.contact(contact.id) == contact)
        let record = try #require(try await store.attempt(handOut.attempt))
        #expect(record.outcome == .connected && record.endedAt == StoreTime.minutes(3))
        #expect(record.answeredAt == StoreTime.minutes(1) && record.agent == AgentID("a1"))
        #expect(record.disposition == .final("sale"))

        // Unknown attempts and mismatched contacts change nothing.
        let unknown = AttemptResult(attempt: AttemptID("nope"), contact: contact.id, outcome: .busy)
        #expect(try await store.recordResult(unknown, now: StoreTime.minutes(4)) == .unknownAttempt)
        let mismatched = AttemptResult(attempt: handOut.attempt, contact: ContactID("7"), outcome: .busy)
        #expect(try await store.recordResult(mismatched, now: StoreTime.minutes(4)) == .unknownAttempt)
    }

    @Test(arguments: StoreKind.allCases) func aNodeMaySpellTheContactIDWithoutPadding(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        let unpadded = ContactID(String(Int(handOut.contact.id.rawValue)!))
        let update = try await store.recordResult(
            AttemptResult(attempt: handOut.attempt, contact: unpadded, outcome: .invalidNumber), now: StoreTime.monday)
        #expect(try await store.contact(handOut.contact.id)?.state == .final(.outcome(.invalidNumber)))
        guard case .applied = update else {
            Issue.record("not applied: \(update)")
            return
        }
    }

    @Test(arguments: StoreKind.allCases) func aDispositionAfterTheResultAppliesOnce(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        #expect(
            try await store.recordDisposition(
                .final("sale"), attempt: handOut.attempt, agent: nil, now: StoreTime.monday) == .attemptStillOpen)
        _ = try await store.recordResult(result(handOut, .connected), now: StoreTime.minutes(2))
        #expect(try await store.contact(handOut.contact.id)?.state == .final(.outcome(.connected)))

        let callback = Disposition.callback("later", at: StoreTime.minutes(90))
        let update = try await store.recordDisposition(
            callback, attempt: handOut.attempt, agent: AgentID("a1"), now: StoreTime.minutes(4))
        guard case .applied(let contact) = update else {
            Issue.record("not applied: \(update)")
            return
        }
        #expect(contact.state == .scheduled(at: StoreTime.minutes(90)))
        #expect(contact.callback == Callback(at: StoreTime.minutes(90)))
        #expect(
            try await store.recordDisposition(
                .final("sale"), attempt: handOut.attempt, agent: nil, now: StoreTime.minutes(5)) == .duplicate)
        #expect(try await store.attempt(handOut.attempt)?.disposition == callback)
        #expect(try await store.attempt(handOut.attempt)?.agent == AgentID("a1"))
        #expect(
            try await store.recordDisposition(
                .final("sale"), attempt: AttemptID("nope"), agent: nil, now: StoreTime.minutes(5)) == .unknownAttempt)
    }

    @Test(arguments: StoreKind.allCases) func aLostNodesAttemptsCloseAsUnknownAndWaitForTheRetryInterval(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        var settings = CampaignSettings.dialing
        settings.retryIntervals.unknown = .seconds(30 * 60)
        try await makeCampaign(store, settings: settings)
        try await addContacts(store, count: 5)
        let lost = try await checkOut(store, count: 3, node: "n1")
        let kept = try await checkOut(store, count: 2, node: "n2")

        let closed = try await store.closeAttemptsOfLostNode(MemberID("n1"), now: StoreTime.minutes(1))
        #expect(closed == lost.map(\.attempt).sorted())
        #expect(try await store.closeAttemptsOfLostNode(MemberID("n1"), now: StoreTime.minutes(2)).isEmpty)
        for handOut in lost {
            let contact = try #require(try await store.contact(handOut.contact.id))
            #expect(contact.state == .scheduled(at: StoreTime.minutes(31)))
            #expect(contact.lastOutcome == .unknown)
            #expect(try await store.attempt(handOut.attempt)?.outcome == .unknown)
            let why = try #require(
                try await store.dialability(of: contact.id, now: StoreTime.minutes(2), presentAgents: []))
            #expect(why.verdict.holds == [DialabilityHold(.notDue, until: StoreTime.minutes(31))])
            #expect(why.earliestDialable == StoreTime.minutes(31))
        }
        #expect(Set(try await store.openAttempts(campaign: nil).map(\.id)) == Set(kept.map(\.attempt)))
        // Not at once, nor a moment before the interval.
        #expect(try await checkOut(store, count: 10, at: StoreTime.minutes(2)).isEmpty)
        #expect(try await checkOut(store, count: 10, at: StoreTime.minutes(30.9)).isEmpty)
        let retried = try await checkOut(store, count: 10, at: StoreTime.minutes(31))
        #expect(Set(retried.map(\.contact.id)) == Set(lost.map(\.contact.id)))
        // A late result of a closed attempt changes nothing.
        #expect(try await store.recordResult(result(lost[0], .connected), now: StoreTime.minutes(32)) == .duplicate)
    }
}

@Suite("Store: statistics and why not dialable")
struct StoreStatisticsTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func theReportCountsContactsAndAttempts(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 6)
        let handOuts = try await checkOut(store, count: 5)
        let outcomes: [AttemptOutcome] = [.connected, .abandoned, .machine, .busy]
        for (handOut, outcome) in zip(handOuts, outcomes) {
            var reported = result(handOut, outcome, disposition: outcome == .connected ? .final("sale") : nil)
            reported.answeredAt = outcome.isLiveAnswer ? StoreTime.minutes(1) : nil
            _ = try await store.recordResult(reported, now: StoreTime.minutes(2))
        }
        let report = try #require(try await store.campaignReport(CampaignID("c1"), now: StoreTime.minutes(10)))
        #expect(report.contacts == 6)
        #expect(report.contactsByState == [.fresh: 1, .inAttempt: 1, .final: 1, .scheduled: 3])
        // Counted by the database in groups: the last outcomes and dispositions as well.
        #expect(report.contactsByLastOutcome == [.connected: 1, .abandoned: 1, .machine: 1, .busy: 1])
        #expect(report.contactsByLastDisposition == ["sale": 1])
        #expect(report.exhausted == 0)
        #expect(report.attempts == 5 && report.openAttempts == 1)
        #expect(report.attemptsByOutcome == [.connected: 1, .abandoned: 1, .machine: 1, .busy: 1])
        #expect(report.attemptsByDisposition == ["sale": 1])
        #expect(report.liveAnswers == 2 && report.abandons == 1 && report.machines == 1)
        #expect(report.abandonRate24Hours.rate == 0.5)
        #expect(try await store.campaignReport(CampaignID("none"), now: StoreTime.monday) == nil)
    }

    @Test(arguments: StoreKind.allCases) func theSummaryCountsWhyContactsAreHeld(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let contacts = try await addContacts(store, count: 4)
        _ = try await store.addDoNotCall(
            contacts[0].phoneNumber, scope: .global, defaultRegion: "DK", note: nil, now: StoreTime.monday)
        let handOut = try #require(try await checkOut(store, count: 1).first)
        _ = try await store.recordResult(result(handOut, .busy), now: StoreTime.monday)
        _ = try await checkOut(store, count: 1)

        let summary = try #require(
            try await store.campaignSummary(CampaignID("c1"), now: StoreTime.minutes(1), presentAgents: []))
        #expect(summary.contacts == 4 && summary.dialableNow == 1 && summary.held == 3)
        #expect(summary.heldBy == [.doNotCall: 1, .notDue: 1, .inAttempt: 1])
        #expect(summary.nextRelease == StoreTime.minutes(10))

        // The last dialable contact: blocked for another campaign it is still dialable here;
        // blocked for this campaign it is held.
        let last = contacts[3].phoneNumber
        try await makeCampaign(store, id: "c2", list: "l2")
        _ = try await store.addDoNotCall(
            last, scope: .campaign(CampaignID("c2")), defaultRegion: "DK", note: nil, now: StoreTime.monday)
        let elsewhere = try #require(
            try await store.campaignSummary(CampaignID("c1"), now: StoreTime.minutes(1), presentAgents: []))
        #expect(elsewhere.dialableNow == 1 && elsewhere.heldBy[.doNotCall] == 1)
        _ = try await store.addDoNotCall(
            last, scope: .campaign(CampaignID("c1")), defaultRegion: "DK", note: nil, now: StoreTime.monday)
        let here = try #require(
            try await store.campaignSummary(CampaignID("c1"), now: StoreTime.minutes(1), presentAgents: []))
        #expect(here.dialableNow == 0 && here.heldBy[.doNotCall] == 2)
    }
}

/// A small deterministic generator, so that the property test reads the same every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
