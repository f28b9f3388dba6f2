import DialerCore
import Foundation
import Testing

/// The contact rules of ``Dialability``: each alone, and all of them together.
@Suite struct DialabilityTests: CampaignFixtures {
    /// Wednesday 10 June 2026, 12:00 UTC: inside calling hours in UTC.
    var noon: Date { utc(2026, 6, 10, 12) }

    @Test func aFreshContactOfAnEnabledCampaignIsDialable() {
        #expect(verdict(contact("c1"), openCampaign(), at: noon) == .dialable(privateAgent: nil))
    }

    @Test func aDisabledCampaignHoldsEveryContactForGood() {
        var campaign = openCampaign()
        campaign.status = .disabled
        #expect(verdict(contact("c1"), campaign, at: noon).holds == [DialabilityHold(.campaignDisabled, until: nil)])
    }

    @Test func doNotCallHoldsForGoodAndAppliesToCallbacksToo() {
        let dnc = DoNotCallList(["+4511111111"])
        let blocked = contact("c1", phone: "+4511111111")
        let callback = contact(
            "c2", phone: "+4511111111", state: .scheduled(at: noon), callback: Callback(at: noon, privateAgent: alice))
        #expect(verdict(blocked, openCampaign(), at: noon, dnc: dnc).holds == [DialabilityHold(.doNotCall, until: nil)])
        #expect(rules(callback, openCampaign(), at: noon, dnc: dnc) == [.doNotCall])
        #expect(verdict(contact("c3", phone: "+4522222222"), openCampaign(), at: noon, dnc: dnc).isDialable)
    }

    @Test func maximumAttemptsHoldForGoodButNotAPromisedCallback() {
        let campaign = openCampaign(maximumAttempts: 3)
        let used = contact("c1", state: .scheduled(at: noon), attempts: 3)
        #expect(verdict(used, campaign, at: noon).holds == [DialabilityHold(.attemptsExhausted, until: nil)])
        #expect(verdict(contact("c2", state: .scheduled(at: noon), attempts: 2), campaign, at: noon).isDialable)
        let promised = contact("c3", state: .scheduled(at: noon), attempts: 3, callback: Callback(at: noon))
        #expect(verdict(promised, campaign, at: noon).isDialable)
    }

    @Test func aRetryIsHeldUntilItsNextAttemptTime() {
        let later = noon.addingTimeInterval(600)
        let waiting = contact("c1", state: .scheduled(at: later), attempts: 1)
        #expect(verdict(waiting, openCampaign(), at: noon).holds == [DialabilityHold(.notDue, until: later)])
        #expect(verdict(waiting, openCampaign(), at: later).isDialable)
        #expect(!verdict(waiting, openCampaign(), at: later.addingTimeInterval(-0.001)).isDialable)
    }

    @Test func aContactInAnAttemptOrClosedIsHeld() {
        let busy = contact("c1", state: .inAttempt(AttemptID("a1")), attempts: 1)
        let done = contact("c2", state: .final(.disposition("sale")), attempts: 1)
        #expect(verdict(busy, openCampaign(), at: noon).holds == [DialabilityHold(.inAttempt, until: nil)])
        #expect(verdict(done, openCampaign(), at: noon).holds == [DialabilityHold(.contactFinal, until: nil)])
    }

    @Test func aPrivateCallbackWaitsForItsAgent() {
        let callback = Callback(at: noon, privateAgent: alice)
        let person = contact("c1", state: .scheduled(at: noon), attempts: 1, callback: callback)
        #expect(verdict(person, openCampaign(), at: noon, present: [alice]) == .dialable(privateAgent: alice))
        #expect(
            verdict(person, openCampaign(), at: noon, present: [bob]).holds
                == [DialabilityHold(.privateAgentAbsent, until: nil)])
        // A public callback needs nobody in particular.
        let open = contact("c2", state: .scheduled(at: noon), attempts: 1, callback: Callback(at: noon))
        #expect(verdict(open, openCampaign(), at: noon, present: []) == .dialable(privateAgent: nil))
    }

    @Test func aCallbackObeysCallingHours() {
        let campaign = openCampaign(timeZone: "America/New_York")
        // A callback at 06:00 New York (10:00 UTC) waits for 08:00 (12:00 UTC).
        let at = utc(2026, 6, 10, 10)
        let person = contact(
            "c1", state: .scheduled(at: at), attempts: 1, callback: Callback(at: at, privateAgent: alice))
        #expect(
            verdict(person, campaign, at: at, present: [alice]).holds
                == [DialabilityHold(.outsideCallingHours, until: utc(2026, 6, 10, 12))])
    }

    @Test func everyRuleThatHoldsIsListedInOrderWithItsOwnRelease() {
        var campaign = openCampaign(timeZone: "Europe/Copenhagen", maximumAttempts: 2)
        campaign.status = .disabled
        campaign.windows = [CallingWindow(weekday: .thursday, start: LocalTime(hour: 10), end: LocalTime(hour: 11))]
        let now = utc(2026, 6, 10, 3)  // Wednesday 05:00 Copenhagen
        let due = utc(2026, 6, 10, 4)
        let person = contact(
            "c1", phone: "+4533333333", state: .scheduled(at: due), attempts: 2,
            callback: Callback(at: due, privateAgent: bob))
        // The callback exempts the attempt limit, so attemptsExhausted is not among them.
        #expect(
            verdict(person, campaign, at: now, dnc: DoNotCallList(["+4533333333"]), present: [alice]).holds == [
                DialabilityHold(.campaignDisabled, until: nil),
                DialabilityHold(.campaignWindowClosed, until: utc(2026, 6, 11, 8)),
                DialabilityHold(.doNotCall, until: nil),
                DialabilityHold(.notDue, until: due),
                DialabilityHold(.outsideCallingHours, until: utc(2026, 6, 10, 6)),
                DialabilityHold(.privateAgentAbsent, until: nil),
            ])
        let closed = contact("c2", state: .final(.attemptsExhausted), attempts: 2)
        #expect(
            rules(closed, campaign, at: now) == [
                .campaignDisabled, .campaignWindowClosed, .attemptsExhausted, .outsideCallingHours, .contactFinal,
            ])
    }

    @Test func earliestDialableStepsThroughEveryTimeRule() {
        // Due at 20:30 UTC, when New York (16:30) is open but the 09:00–17:00 window in
        // Copenhagen (22:30) is closed: the next instant both allow is Thursday 09:00
        // Copenhagen, 07:00 UTC, when New York is closed (03:00) — so 12:00 UTC, 08:00 New York.
        var campaign = openCampaign(timeZone: "Europe/Copenhagen")
        campaign.windows = CallingWindow.on(Weekday.workdays, from: LocalTime(hour: 9), to: LocalTime(hour: 17))
        let due = utc(2026, 6, 10, 20, 30)
        let person = contact("c1", timeZone: "America/New_York", state: .scheduled(at: due), attempts: 1)
        let earliest = Dialability.earliestDialable(
            contact: person, campaign: campaign, dnc: DoNotCallList(), now: noon, privateAgentPresent: { _ in true })
        #expect(earliest == utc(2026, 6, 11, 12))
        // Nothing in time lets a DNC contact go.
        let blocked = Dialability.earliestDialable(
            contact: person, campaign: campaign, dnc: DoNotCallList([person.phoneNumber]), now: noon,
            privateAgentPresent: { _ in true })
        #expect(blocked == nil)
    }

    @Test func campaignSummaryCountsDialableAndHeldPerRule() {
        let campaign = openCampaign(maximumAttempts: 2)
        let later = noon.addingTimeInterval(3600)
        let contacts = [
            contact("a"),
            contact("b", state: .scheduled(at: noon), attempts: 1),
            contact("c", state: .scheduled(at: later), attempts: 1),
            contact("d", phone: "+4599999999", state: .scheduled(at: later), attempts: 1),
            contact("e", state: .final(.attemptsExhausted), attempts: 2),
            contact("f", state: .inAttempt(AttemptID("x")), attempts: 1),
        ]
        let summary = CampaignSummary(
            contacts: contacts, campaign: campaign, dnc: DoNotCallList(["+4599999999"]), now: noon,
            privateAgentPresent: { _ in true })
        #expect(summary.contacts == 6)
        #expect(summary.dialableNow == 2)
        #expect(summary.held == 4)
        #expect(
            summary.heldBy == [.notDue: 2, .doNotCall: 1, .attemptsExhausted: 1, .contactFinal: 1, .inAttempt: 1])
        #expect(summary.heldUntilTime == 1)
        #expect(summary.nextRelease == later)
    }
}
