import DialerCore
import Foundation
import Testing

@testable import DialerManager

@Suite("Store: contacts")
struct StoreContactTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func aContactIsAddedNormalisedReadEditedAndDeleted(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let added = try await store.addContact(
            to: ContactListID("l1"),
            ContactDraft(phone: "20 00 00 01", callerID: "70 10 20 30", priority: 3, fields: ["name": "Ann \"A\"\n"]),
            defaultRegion: "DK", now: StoreTime.monday)
        #expect(added.phoneNumber == "+4520000001")
        #expect(added.callerID == "+4570102030")
        #expect(added.timeZone == "Europe/Copenhagen")  // guessed from the number
        #expect(added.campaign == CampaignID("c1"))
        #expect(added.state == .fresh && added.attempts == 0)
        #expect(added.fields == ["name": "Ann \"A\"\n"])
        #expect(try await store.contact(added.id) == added)

        await #expect(throws: StoreError.alreadyExists("the number in list l1")) {
            try await store.addContact(
                to: ContactListID("l1"), ContactDraft(phone: "+45 2000 0001"), defaultRegion: "US",
                now: StoreTime.monday)
        }
        await #expect(throws: StoreError.self) {
            try await store.addContact(
                to: ContactListID("l1"), ContactDraft(phone: "call me"), defaultRegion: "DK", now: StoreTime.monday)
        }
        await #expect(throws: StoreError.invalid("unknown time zone \"Mars/Olympus\"")) {
            try await store.addContact(
                to: ContactListID("l1"), ContactDraft(phone: "20000002", timeZone: "Mars/Olympus"),
                defaultRegion: "DK", now: StoreTime.monday)
        }

        let edited = try await store.updateContact(
            added.id, ContactDraft(phone: "20000009", timeZone: "America/New_York", priority: 1, fields: ["a": "b"]),
            defaultRegion: "DK", now: StoreTime.minutes(5))
        #expect(edited.phoneNumber == "+4520000009" && edited.timeZone == "America/New_York")
        #expect(edited.priority == 1 && edited.fields == ["a": "b"])
        #expect(edited.createdAt == StoreTime.monday && edited.updatedAt == StoreTime.minutes(5))

        #expect(try await store.deleteContact(added.id))
        #expect(try await store.contact(added.id) == nil)
        #expect(try await store.deleteContact(added.id) == false)
        #expect(try await store.contact(ContactID("not-an-id")) == nil)
    }

    @Test(arguments: StoreKind.allCases) func aContactInAnOpenAttemptCannotBeEditedOrDeleted(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let contact = try #require(try await addContacts(store, count: 1).first)
        _ = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        await #expect(throws: StoreError.conflict("contact \(contact.id) is in an open attempt")) {
            try await store.deleteContact(contact.id)
        }
        await #expect(throws: StoreError.self) {
            try await store.updateContact(
                contact.id, ContactDraft(phone: danishNumber(0)), defaultRegion: "DK", now: StoreTime.monday)
        }
    }

    @Test(arguments: StoreKind.allCases) func searchFiltersByFieldsAndStateAndPages(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        for index in 0..<25 {
            _ = try await store.addContact(
                to: ContactListID("l1"),
                ContactDraft(phone: danishNumber(index), fields: ["city": index % 2 == 0 ? "Aarhus" : "Odense"]),
                defaultRegion: "DK", now: StoreTime.monday)
        }
        let aarhus = ContactFilter(campaign: CampaignID("c1"), fields: ["city": "Aarhus"])
        #expect(try await store.countContacts(aarhus) == 13)
        var seen: [Contact] = []
        var after: ContactID?
        repeat {
            let page = try await store.searchContacts(aarhus, after: after, limit: 5)
            seen += page.contacts
            after = page.nextAfter
        } while after != nil
        #expect(seen.count == 13)
        #expect(seen.allSatisfy { $0.fields["city"] == "Aarhus" })
        #expect(seen.map(\.id) == seen.map(\.id).sorted())

        let one = try await store.searchContacts(ContactFilter(phone: danishNumber(7)), after: nil, limit: 10)
        #expect(one.contacts.map(\.phoneNumber) == [danishNumber(7)])
        #expect(try await store.countContacts(ContactFilter(list: ContactListID("l1"), states: [.fresh])) == 25)
        #expect(try await store.countContacts(ContactFilter(states: [.final])) == 0)
        #expect(try await store.countContacts(ContactFilter(minimumAttempts: 1)) == 0)
    }

    @Test(arguments: StoreKind.allCases) func resettingAttemptsReopensExhaustedContacts(_ kind: StoreKind) async throws
    {
        guard try await context.open(kind) else { return }
        var settings = CampaignSettings.dialing
        settings.maximumAttempts = 1
        try await makeCampaign(store, settings: settings)
        try await addContacts(store, count: 4)
        // Every contact is tried once and gets no answer: with one attempt allowed, each closes as
        // exhausted, except one that is still in its attempt.
        let handOuts = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 4, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        #expect(handOuts.count == 4)
        for handOut in handOuts.dropLast() {
            _ = try await store.recordResult(
                AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: .noAnswer),
                now: StoreTime.minutes(1))
        }
        #expect(try await store.countContacts(ContactFilter(states: [.final])) == 3)

        let first = handOuts[0].contact.id
        #expect(try await store.resetAttempts(of: first, now: StoreTime.minutes(2)) == true)
        let reopened = try #require(try await store.contact(first))
        #expect(reopened.state == .fresh && reopened.attempts == 0)
        #expect(try await store.resetAttempts(of: handOuts[3].contact.id, now: StoreTime.minutes(2)) == false)
        #expect(try await store.resetAttempts(of: ContactID("999999"), now: StoreTime.minutes(2)) == nil)

        let all = try await store.resetAttempts(
            matching: ContactFilter(campaign: CampaignID("c1")), now: StoreTime.minutes(3))
        #expect(all == AttemptReset(reset: 3, reopened: 2))
        #expect(try await store.countContacts(ContactFilter(states: [.fresh])) == 3)
        #expect(try await store.countContacts(ContactFilter(states: [.inAttempt])) == 1)
    }

    @Test(arguments: StoreKind.allCases) func theBulkResetFollowsTheDomainRule(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        var settings = CampaignSettings.dialing
        settings.maximumAttempts = 2
        settings.retryIntervals.noAnswer = .seconds(60)
        try await makeCampaign(store, settings: settings)
        try await addContacts(store, count: 6)
        // Contacts in every state: closed by outcome, exhausted, scheduled, in an attempt, fresh.
        var now = StoreTime.monday
        for (outcome, count) in [(AttemptOutcome.connected, 1), (.noAnswer, 3), (.noAnswer, 3)] {
            let handOuts = try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: count, node: MemberID("n1"), epoch: Epoch(1), now: now,
                presentAgents: [])
            #expect(handOuts.count == count)
            for handOut in handOuts {
                _ = try await store.recordResult(
                    AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: outcome), now: now)
            }
            now = now.addingTimeInterval(120)
        }
        _ = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: now, presentAgents: [])
        try await addContacts(store, count: 1, from: 6)
        let before = try await store.searchContacts(ContactFilter(), after: nil, limit: 100).contacts
        #expect(Set(before.map(\.state.kind)) == [.final, .scheduled, .inAttempt, .fresh])
        #expect(before.contains { $0.state == .final(.attemptsExhausted) })

        _ = try await store.resetAttempts(matching: ContactFilter(list: ContactListID("l1")), now: now)
        let after = try await store.searchContacts(ContactFilter(), after: nil, limit: 100).contacts
        let expected = before.map { contact in
            var contact = contact
            contact.resetAttempts(now: now)
            return contact
        }
        #expect(after == expected)
    }
}

@Suite("Store: do not call and dispositions")
struct StoreDoNotCallTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func numbersAreAddedCheckedListedAndRemovedPerScope(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        #expect(
            try await store.addDoNotCall(
                "20 00 00 01", scope: .global, defaultRegion: "DK", note: "asked", now: StoreTime.monday))
        #expect(
            try await store.addDoNotCall(
                "+4520000001", scope: .global, defaultRegion: "DK", note: nil, now: StoreTime.monday) == false)
        #expect(
            try await store.addDoNotCall(
                "20000002", scope: .campaign(CampaignID("c1")), defaultRegion: "DK", note: nil, now: StoreTime.monday))
        await #expect(throws: StoreError.notFound("campaign c9")) {
            try await store.addDoNotCall(
                "20000002", scope: .campaign(CampaignID("c9")), defaultRegion: "DK", note: nil, now: StoreTime.monday)
        }

        #expect(try await store.isDoNotCall("+4520000001", campaign: nil, defaultRegion: "DK"))
        #expect(try await store.isDoNotCall("+4520000001", campaign: CampaignID("c1"), defaultRegion: "DK"))
        #expect(try await store.isDoNotCall("+4520000002", campaign: CampaignID("c1"), defaultRegion: "DK"))
        #expect(try await store.isDoNotCall("+4520000002", campaign: nil, defaultRegion: "DK") == false)
        #expect(try await store.isDoNotCall("+4520000003", campaign: CampaignID("c1"), defaultRegion: "DK") == false)

        let global = try await store.doNotCallEntries(scope: .global, after: nil, limit: 10)
        #expect(
            global == [DoNotCallEntry(phone: "+4520000001", scope: .global, note: "asked", addedAt: StoreTime.monday)])

        #expect(try await store.removeDoNotCall("20000001", scope: .global, defaultRegion: "DK"))
        #expect(try await store.removeDoNotCall("20000001", scope: .global, defaultRegion: "DK") == false)
        #expect(try await store.isDoNotCall("+4520000001", campaign: CampaignID("c1"), defaultRegion: "DK") == false)
    }

    @Test(arguments: StoreKind.allCases) func aFileOfNumbersIsImported(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        let csv = "number,comment\n20000001,x\n20000002,y\nnot a number,z\n20000001,again\n"
        let report = try await store.importDoNotCall(
            scope: .global, format: .csv, options: ImportOptions(mapping: .init(phone: "number"), defaultRegion: "DK"),
            from: chunks(csv, size: 7), now: StoreTime.monday)
        #expect(report.rowsRead == 4 && report.added == 2 && report.alreadyListed == 1 && report.rejected == 1)
        #expect(report.rejectedRows.map(\.row) == [4])
        #expect(try await store.isDoNotCall("20000002", campaign: nil, defaultRegion: "DK"))
    }

    @Test(arguments: StoreKind.allCases) func dispositionsAreCreatedListedUpdatedAndDeleted(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let campaign = CampaignID("c1")
        let sale = DispositionDefinition(name: "sale", kind: .final)
        let later = DispositionDefinition(name: "call back", kind: .callback, privateAllowed: true)
        try await store.createDisposition(sale, campaign: campaign)
        try await store.createDisposition(later, campaign: campaign)
        await #expect(throws: StoreError.self) { try await store.createDisposition(sale, campaign: campaign) }
        await #expect(throws: StoreError.notFound("campaign c9")) {
            try await store.createDisposition(sale, campaign: CampaignID("c9"))
        }
        #expect(try await store.dispositions(of: campaign) == [sale, later])

        let retry = DispositionDefinition(name: "busy later", kind: .retry)
        #expect(try await store.updateDisposition(named: "sale", campaign: campaign, to: retry))
        #expect(try await store.updateDisposition(named: "nope", campaign: campaign, to: retry) == false)
        await #expect(throws: StoreError.self) {
            try await store.updateDisposition(named: "busy later", campaign: campaign, to: later)
        }
        #expect(try await store.dispositions(of: campaign) == [retry, later])
        #expect(try await store.deleteDisposition(named: "busy later", campaign: campaign))
        #expect(try await store.deleteDisposition(named: "busy later", campaign: campaign) == false)
        #expect(try await store.dispositions(of: campaign) == [later])

        #expect(later.allows(.callback("call back", at: StoreTime.monday, privateTo: AgentID("a1"))))
        #expect(
            !DispositionDefinition(name: "cb", kind: .callback).allows(
                .callback("cb", at: .now, privateTo: AgentID("a"))))
    }
}

@Suite("Store: agents and teams")
struct StoreAgentTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func agentsAndTeamsAreCreatedReadUpdatedAndDeleted(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let queueA = QueueID("inbound")
        let queueB = QueueID("campaign-1")
        try await store.createTeam(
            Team(id: TeamID("t1"), name: "Sales", queueRanking: AgentSkills([queueA: 2, queueB: 1])),
            now: StoreTime.monday)
        await #expect(throws: StoreError.alreadyExists("team t1")) {
            try await store.createTeam(Team(id: TeamID("t1"), name: "x"), now: StoreTime.monday)
        }
        let profile = AgentProfile(
            id: AgentID("a1"), login: "ann", name: "Ann", team: TeamID("t1"), skills: AgentSkills([queueA: 1]))
        let created = try await store.createAgent(profile, password: "correct horse", now: StoreTime.monday)
        #expect(created.profile == profile)
        #expect(try await store.agent(AgentID("a1")) == created)
        await #expect(throws: StoreError.alreadyExists("login \"ANN\"")) {
            try await store.createAgent(
                AgentProfile(id: AgentID("a2"), login: "ANN", name: "Other"), password: "x", now: StoreTime.monday)
        }
        await #expect(throws: StoreError.notFound("team t9")) {
            try await store.createAgent(
                AgentProfile(id: AgentID("a2"), login: "bo", name: "Bo", team: TeamID("t9")), password: "x",
                now: StoreTime.monday)
        }

        // The team's ranking, with the agent's own rank winning for the inbound queue.
        #expect(try await store.effectiveSkills(of: AgentID("a1")) == AgentSkills([queueA: 1, queueB: 1]))
        #expect(try await store.members(of: TeamID("t1")) == [AgentID("a1")])

        var changed = profile
        changed.name = "Ann B"
        changed.skills = AgentSkills([queueB: 3])
        let updated = try await store.updateAgent(changed, now: StoreTime.minutes(1))
        #expect(updated.profile == changed && updated.updatedAt == StoreTime.minutes(1))
        #expect(try await store.effectiveSkills(of: AgentID("a1")) == AgentSkills([queueA: 2, queueB: 3]))

        #expect(try await store.updateTeam(Team(id: TeamID("t1"), name: "Sales 2"), now: StoreTime.minutes(2)))
        #expect(try await store.team(TeamID("t1")) == Team(id: TeamID("t1"), name: "Sales 2"))
        #expect(try await store.deleteTeam(TeamID("t1")))
        #expect(try await store.agent(AgentID("a1"))?.profile.team == nil)
        #expect(try await store.teams().isEmpty)

        #expect(try await store.agents().map(\.id) == [AgentID("a1")])
        #expect(try await store.deleteAgent(AgentID("a1")))
        #expect(try await store.agent(AgentID("a1")) == nil)
        #expect(try await store.deleteAgent(AgentID("a1")) == false)
    }

    @Test func passwordsAreStoredAsSaltedHashesThatVerify() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        for (id, login) in [("a1", "ann"), ("a2", "bo")] {
            _ = try await store.createAgent(
                AgentProfile(id: AgentID(id), login: login, name: login), password: "same password",
                now: StoreTime.monday)
        }
        #expect(try await store.authenticateAgent(login: "ann", password: "same password")?.id == AgentID("a1"))
        #expect(try await store.authenticateAgent(login: "Ann", password: "same password")?.id == AgentID("a1"))
        #expect(try await store.authenticateAgent(login: "ann", password: "Same password") == nil)
        #expect(try await store.authenticateAgent(login: "nobody", password: "same password") == nil)

        let stored = try store.storedPasswords()
        #expect(stored.count == 2)
        for hash in stored {
            #expect(hash.algorithm == "pbkdf2-sha256" && hash.iterations == 1_000)
            #expect(hash.hash.count == 32 && hash.salt.count == 16)
            #expect(!String(decoding: hash.hash, as: UTF8.self).contains("same password"))
        }
        // A salt per agent: the same password hashes differently.
        #expect(stored[0].salt != stored[1].salt && stored[0].hash != stored[1].hash)
        // The file holds no password text.
        let file = try Data(contentsOf: URL(fileURLWithPath: temporary.path))
        #expect(file.range(of: Data("same password".utf8)) == nil)

        #expect(try await store.setAgentPassword(AgentID("a1"), password: "new one", now: StoreTime.minutes(1)))
        #expect(try await store.authenticateAgent(login: "ann", password: "same password") == nil)
        #expect(try await store.authenticateAgent(login: "ann", password: "new one")?.id == AgentID("a1"))
    }

    @Test func pbkdf2MatchesTheRFC7914TestVector() throws {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1, dkLen = 64
        // (the first 32 bytes here).
        let hash = PasswordHash(
            algorithm: "pbkdf2-sha256", iterations: 1, salt: Array("salt".utf8),
            hash: [
                0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05,
                0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d, 0xac, 0xbc,
            ])
        #expect(try PasswordHasher.verify("passwd", against: hash))
        #expect(try !PasswordHasher.verify("passwd!", against: hash))
        #expect(PasswordHasher.defaultIterations >= 600_000)
    }
}
