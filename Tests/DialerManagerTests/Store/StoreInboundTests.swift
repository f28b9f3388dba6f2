import DialerCore
import Foundation
import Testing

@testable import DialerManager

@Suite("Store: inbound routing and attempts given back")
struct StoreInboundTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    private func checkOut(count: Int, at now: Date = StoreTime.monday) async throws -> [AttemptHandOut] {
        try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: count, node: MemberID("n1"), epoch: Epoch(1), now: now,
            presentAgents: [])
    }

    @Test(arguments: StoreKind.allCases) func anAttemptGivenBackLeavesTheContactAsBeforeAndIsForgotten(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let contacts = try await addContacts(store, count: 2)
        // The first contact was attempted once already (no answer, retried later).
        let first = try #require(try await checkOut(count: 1).first)
        _ = try await store.recordResult(
            AttemptResult(attempt: first.attempt, contact: first.contact.id, outcome: .noAnswer),
            now: StoreTime.minutes(1))
        let beforeFirst = try #require(try await store.contact(contacts[0].id))
        let beforeSecond = try #require(try await store.contact(contacts[1].id))
        let later = StoreTime.minutes(24 * 60)
        let handOuts = try await checkOut(count: 2, at: later)
        try #require(handOuts.count == 2)

        for handOut in handOuts {
            #expect(
                try await store.returnAttempt(handOut.attempt, node: MemberID("n1"), epoch: Epoch(1), now: later)
                    == .returned)
            #expect(try await store.attempt(handOut.attempt) == nil, "an undialed attempt is no attempt")
        }
        let fresh = try #require(try await store.contact(contacts[1].id))
        #expect(fresh.state == .fresh && fresh.attempts == 0 && fresh.lastAttempt == nil)
        #expect(fresh.state == beforeSecond.state)
        let retried = try #require(try await store.contact(contacts[0].id))
        #expect(retried.attempts == beforeFirst.attempts)
        #expect(retried.lastAttempt == first.attempt)
        #expect(retried.state == .scheduled(at: later))
        // Both are handed out again at once; giving one back twice changes nothing.
        let again = try await checkOut(count: 5, at: later)
        #expect(Set(again.map(\.contact.id)) == Set(contacts.map(\.id)))
        #expect(
            try await store.returnAttempt(handOuts[0].attempt, node: MemberID("n1"), epoch: Epoch(1), now: later)
                == .notHeld)
    }

    @Test(arguments: StoreKind.allCases) func onlyTheHolderMayGiveAnAttemptBackAndNotOnceItHasAResult(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 2)
        let handOuts = try await checkOut(count: 2)
        #expect(
            try await store.returnAttempt(handOuts[0].attempt, node: MemberID("n2"), epoch: Epoch(1), now: .now)
                == .heldElsewhere)
        #expect(
            try await store.returnAttempt(handOuts[0].attempt, node: MemberID("n1"), epoch: Epoch(2), now: .now)
                == .heldElsewhere)
        _ = try await store.recordResult(
            AttemptResult(attempt: handOuts[1].attempt, contact: handOuts[1].contact.id, outcome: .busy),
            now: StoreTime.minutes(1))
        #expect(
            try await store.returnAttempt(handOuts[1].attempt, node: MemberID("n1"), epoch: Epoch(1), now: .now)
                == .alreadyClosed)
        #expect(try await store.attempt(handOuts[0].attempt)?.isOpen == true)
    }

    @Test(arguments: StoreKind.allCases) func aCallerWhoIsAnOpenContactGoesToTheirCampaignAsAnAttempt(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await makeCampaign(store, id: "c2", list: "l2")
        let contacts = try await addContacts(store, count: 2)
        let route = try await store.routeInboundCall(
            from: contacts[1].phoneNumber, hotline: CampaignID("c2"), node: MemberID("n1"), epoch: Epoch(4),
            now: StoreTime.monday)
        guard case .openContact(let campaign, let handOut, _) = route, let handOut else {
            Issue.record("not routed to the contact's campaign: \(route)")
            return
        }
        #expect(campaign.id == CampaignID("c1"))
        #expect(handOut.contact.id == contacts[1].id)
        #expect(try await store.attempt(handOut.attempt)?.node == MemberID("n1"))
        // In an attempt now: a second call from the same number is still the campaign's, without
        // a second attempt, and the feeder does not hand the contact out meanwhile.
        let second = try await store.routeInboundCall(
            from: contacts[1].phoneNumber, hotline: nil, node: MemberID("n1"), epoch: Epoch(4), now: StoreTime.monday)
        #expect(second == .openContact(campaign: campaign, handOut: nil, contact: handOut.contact))
        #expect(try await checkOut(count: 5).map(\.contact.id) == [contacts[0].id])
    }

    @Test(arguments: StoreKind.allCases) func aHotlineCallerBecomesAContactAndOtherCallersAreServiceCalls(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let caller = danishNumber(77)
        let route = try await store.routeInboundCall(
            from: caller, hotline: CampaignID("c1"), node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday)
        guard case .hotline(let campaign, let handOut, let contact) = route, let handOut else {
            Issue.record("not a hotline contact: \(route)")
            return
        }
        #expect(campaign.id == CampaignID("c1"))
        #expect(contact.phoneNumber == caller && handOut.contact.attempts == 1)
        #expect(
            try await store.routeInboundCall(
                from: danishNumber(78), hotline: nil, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday)
                == .service)
    }
}
