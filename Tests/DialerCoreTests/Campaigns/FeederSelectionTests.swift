import DialerCore
import Foundation
import Testing

/// The feeder's choice: only dialable contacts, in the campaign's order.
@Suite struct FeederSelectionTests: CampaignFixtures {
    var noon: Date { utc(2026, 6, 10, 12) }

    func choose(
        _ contacts: [Contact], _ campaign: CampaignSettings, count: Int = 100, present: Set<AgentID> = [],
        dnc: DoNotCallList = DoNotCallList()
    ) -> [String] {
        FeederSelection.choose(
            from: contacts, campaign: campaign, count: count, now: noon, dnc: dnc,
            privateAgentPresent: { present.contains($0) }
        ).map(\.id.rawValue)
    }

    @Test func onlyDialableContactsAreChosen() {
        let contacts = [
            contact("fresh"),
            contact("due", state: .scheduled(at: noon), attempts: 1),
            contact("later", state: .scheduled(at: noon.addingTimeInterval(60)), attempts: 1),
            contact("dnc", phone: "+4500000000"),
            contact("used", state: .scheduled(at: noon), attempts: 3),
            contact("open", state: .inAttempt(AttemptID("a")), attempts: 1),
            contact("done", state: .final(.outcome(.connected)), attempts: 1),
        ]
        #expect(
            Set(choose(contacts, openCampaign(maximumAttempts: 3), dnc: DoNotCallList(["+4500000000"])))
                == ["fresh", "due"])
    }

    @Test func callbacksFirstPrivateBeforePublicAndPrivateOnlyWhenTheAgentIsPresent() {
        let contacts = [
            contact("plain", priority: 0),
            contact("public", priority: 9, state: .scheduled(at: noon), attempts: 1, callback: Callback(at: noon)),
            contact(
                "alice", priority: 9, state: .scheduled(at: noon), attempts: 1,
                callback: Callback(at: noon, privateAgent: alice)),
            contact(
                "bob", priority: 0, state: .scheduled(at: noon), attempts: 1,
                callback: Callback(at: noon, privateAgent: bob)),
        ]
        #expect(choose(contacts, openCampaign(), present: [alice]) == ["alice", "public", "plain"])
        let chosen = FeederSelection.choose(
            from: contacts, campaign: openCampaign(), count: 1, now: noon, dnc: DoNotCallList(),
            privateAgentPresent: { $0 == alice })
        #expect(chosen.first?.privateCallbackAgent == alice)
    }

    @Test func priorityOrderThenFreshVersusRetryThenOldestWaiting() {
        let old = utc(2026, 6, 1)
        let contacts = [
            contact("retry-old", priority: 1, state: .scheduled(at: old), attempts: 1),
            contact("retry-new", priority: 1, state: .scheduled(at: noon), attempts: 1),
            contact("fresh-new", priority: 1, createdAt: utc(2026, 6, 5)),
            contact("fresh-old", priority: 1, createdAt: utc(2026, 5, 1)),
            contact("urgent", priority: 0, state: .scheduled(at: noon), attempts: 2),
        ]
        var campaign = openCampaign()
        campaign.freshVersusRetry = .freshFirst
        #expect(choose(contacts, campaign) == ["urgent", "fresh-old", "fresh-new", "retry-old", "retry-new"])
        campaign.freshVersusRetry = .retriesFirst
        #expect(choose(contacts, campaign) == ["urgent", "retry-old", "retry-new", "fresh-old", "fresh-new"])
        campaign.freshVersusRetry = .interleaved
        #expect(choose(contacts, campaign) == ["urgent", "fresh-old", "retry-old", "fresh-new", "retry-new"])
        campaign.priorityOrder = [SortKey(.priority, .descending)]
        campaign.freshVersusRetry = .freshFirst
        #expect(choose(contacts, campaign) == ["fresh-old", "fresh-new", "retry-old", "retry-new", "urgent"])
        #expect(choose(contacts, campaign, count: 2) == ["fresh-old", "fresh-new"])
        #expect(choose(contacts, campaign, count: 0) == [])
    }

    @Test func customFieldsSortAsNumbersThenTextWithBlanksLast() {
        let contacts = [
            contact("ten", fields: ["score": "10"]),
            contact("nine", fields: ["score": "9"]),
            contact("text", fields: ["score": "high"]),
            contact("blank"),
            contact("half", fields: ["score": "9.5"]),
        ]
        var campaign = openCampaign()
        campaign.priorityOrder = [SortKey(.field("score"))]
        #expect(choose(contacts, campaign) == ["nine", "half", "ten", "text", "blank"])
        campaign.priorityOrder = [SortKey(.field("score"), .descending)]
        #expect(choose(contacts, campaign) == ["text", "ten", "half", "nine", "blank"])
    }

    @Test func severalKeysApplyInTurn() {
        let contacts = [
            contact("a", priority: 1, fields: ["region": "north"]),
            contact("b", priority: 2, fields: ["region": "north"]),
            contact("c", priority: 1, fields: ["region": "east"]),
            contact("d", priority: 3, state: .scheduled(at: noon), attempts: 2, createdAt: utc(2026, 1, 2)),
        ]
        var campaign = openCampaign()
        campaign.priorityOrder = [SortKey(.field("region")), SortKey(.priority, .descending)]
        #expect(choose(contacts, campaign) == ["c", "b", "a", "d"])
        campaign.priorityOrder = [SortKey(.attempts, .descending), SortKey(.createdAt)]
        #expect(choose(contacts, campaign) == ["d", "a", "b", "c"])
    }
}
