import DialerCore
import Foundation
import Testing

/// Calling hours and campaign windows on the local wall clock, across daylight-saving changes.
///
/// 2026 changes: New York springs forward on 8 March at 07:00 UTC (02:00 EST → 03:00 EDT) and
/// falls back on 1 November at 06:00 UTC (02:00 EDT → 01:00 EST); Copenhagen springs forward on
/// 29 March at 01:00 UTC (02:00 CET → 03:00 CEST) and falls back on 25 October at 01:00 UTC
/// (03:00 CEST → 02:00 CET).
@Suite struct CallingHoursTests: CampaignFixtures {
    let newYork = "America/New_York"
    let copenhagen = "Europe/Copenhagen"

    // MARK: Contact calling hours, New York

    @Test func newYorkSpringForwardMorningOpensAtEightEDT() {
        let campaign = openCampaign()
        let person = contact("c1", timeZone: newYork)
        // Saturday 7 March, EST: 08:00 local is 13:00 UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 7, 12, 30)) == utc(2026, 3, 7, 13))
        #expect(verdict(person, campaign, at: utc(2026, 3, 7, 13)).isDialable)
        // Sunday 8 March, EDT from 03:00: 08:00 local is 12:00 UTC, an hour earlier in UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 8, 11, 30)) == utc(2026, 3, 8, 12))
        #expect(verdict(person, campaign, at: utc(2026, 3, 8, 12)).isDialable)
        #expect(!verdict(person, campaign, at: utc(2026, 3, 8, 11, 59, 59)).isDialable)
    }

    @Test func newYorkEveningBeforeSpringForwardWaitsForEightEDT() {
        let campaign = openCampaign()
        let person = contact("c1", timeZone: newYork)
        // Saturday 19:30 EST (00:30 UTC Sunday) is inside; 21:30 EST is not.
        #expect(verdict(person, campaign, at: utc(2026, 3, 8, 0, 30)).isDialable)
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 8, 2, 30)) == utc(2026, 3, 8, 12))
        // 21:00 EST exactly is closed (the end is exclusive), 20:59:59 is open.
        #expect(!verdict(person, campaign, at: utc(2026, 3, 8, 2)).isDialable)
        #expect(verdict(person, campaign, at: utc(2026, 3, 8, 1, 59, 59)).isDialable)
    }

    @Test func newYorkFallBackMorningOpensAtEightEST() {
        let campaign = openCampaign()
        let person = contact("c1", timeZone: newYork)
        // Saturday 31 October, EDT: 08:00 is 12:00 UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 10, 31, 11)) == utc(2026, 10, 31, 12))
        // Sunday 1 November, EST from 02:00 EDT: 08:00 is 13:00 UTC; 12:30 UTC is 07:30 EST.
        #expect(
            release(of: .outsideCallingHours, person, campaign, at: utc(2026, 11, 1, 12, 30)) == utc(2026, 11, 1, 13))
        // Saturday 21:30 EDT (01:30 UTC Sunday), across the change to 08:00 EST.
        #expect(
            release(of: .outsideCallingHours, person, campaign, at: utc(2026, 11, 1, 1, 30)) == utc(2026, 11, 1, 13))
        // Sunday evening, EST: 21:00 is 02:00 UTC Monday.
        #expect(verdict(person, campaign, at: utc(2026, 11, 2, 1, 59)).isDialable)
        #expect(!verdict(person, campaign, at: utc(2026, 11, 2, 2)).isDialable)
    }

    // MARK: Contact calling hours, Copenhagen

    @Test func copenhagenSpringForward() {
        let campaign = openCampaign(timeZone: newYork)
        let person = contact("c1", timeZone: copenhagen)
        // Saturday 28 March, CET: 08:00 is 07:00 UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 28, 6, 30)) == utc(2026, 3, 28, 7))
        // Sunday 29 March, CEST: 08:00 is 06:00 UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 6))
        #expect(verdict(person, campaign, at: utc(2026, 3, 29, 6)).isDialable)
        // 21:00 CEST is 19:00 UTC.
        #expect(verdict(person, campaign, at: utc(2026, 3, 29, 18, 59)).isDialable)
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 3, 29, 19)) == utc(2026, 3, 30, 6))
    }

    @Test func copenhagenFallBack() {
        let campaign = openCampaign(timeZone: newYork)
        let person = contact("c1", timeZone: copenhagen)
        // Saturday 24 October, CEST: 08:00 is 06:00 UTC; 21:00 is 19:00 UTC.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 10, 24, 5)) == utc(2026, 10, 24, 6))
        // Saturday 21:00 CEST to Sunday 08:00 CET (07:00 UTC), across the change.
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 10, 24, 19)) == utc(2026, 10, 25, 7))
        #expect(!verdict(person, campaign, at: utc(2026, 10, 25, 6, 30)).isDialable)
        #expect(verdict(person, campaign, at: utc(2026, 10, 25, 7)).isDialable)
    }

    // MARK: Which zone

    @Test func callingHoursUseTheContactsZoneThenItsNumbersThenTheCampaigns() {
        let campaign = openCampaign(timeZone: newYork)
        let resolver = PrefixTimeZoneResolver(zones: [(prefix: "+45", zone: copenhagen)])
        let now = utc(2026, 6, 10, 12)  // 14:00 Copenhagen, 08:00 New York, 05:00 Los Angeles
        let own = contact("own", phone: "+4512345678", timeZone: "America/Los_Angeles")
        let byNumber = contact("num", phone: "+4512345679")
        let byCampaign = contact("camp", phone: "+3312345678")
        // Own zone (Los Angeles, 05:00) wins over the number's (Copenhagen).
        #expect(
            release(of: .outsideCallingHours, own, campaign, at: now, timeZones: resolver)
                == .some(utc(2026, 6, 10, 15)))
        #expect(verdict(byNumber, campaign, at: now, timeZones: resolver).isDialable)
        #expect(verdict(byCampaign, campaign, at: now, timeZones: resolver).isDialable)
        // At 04:00 UTC: Copenhagen 06:00 (closed), New York 00:00 (closed).
        let early = utc(2026, 6, 10, 4)
        #expect(
            release(of: .outsideCallingHours, byNumber, campaign, at: early, timeZones: resolver) == utc(2026, 6, 10, 6)
        )
        #expect(
            release(of: .outsideCallingHours, byCampaign, campaign, at: early, timeZones: resolver)
                == utc(2026, 6, 10, 12))
        // Without a resolver the number tells nothing: the campaign's zone applies.
        #expect(release(of: .outsideCallingHours, byNumber, campaign, at: early) == utc(2026, 6, 10, 12))
    }

    @Test func anUnknownContactZoneFallsBackToTheNumberAndCampaign() {
        let campaign = openCampaign(timeZone: copenhagen)
        let person = contact("c1", timeZone: "Mars/Olympus_Mons")
        #expect(release(of: .outsideCallingHours, person, campaign, at: utc(2026, 6, 10, 4)) == utc(2026, 6, 10, 6))
    }

    // MARK: Campaign windows

    @Test func workdayWindowsInTheCampaignsZone() {
        var campaign = openCampaign(timeZone: copenhagen)
        campaign.windows = CallingWindow.on(Weekday.workdays, from: LocalTime(hour: 9), to: LocalTime(hour: 17))
        campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
        let person = contact("c1")
        // Wednesday 10 June, CEST: 09:00–17:00 is 07:00–15:00 UTC.
        #expect(verdict(person, campaign, at: utc(2026, 6, 10, 7)).isDialable)
        #expect(rules(person, campaign, at: utc(2026, 6, 10, 15)) == [.campaignWindowClosed])
        #expect(release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 6, 10, 15)) == utc(2026, 6, 11, 7))
        // Friday evening: closed until Monday 09:00.
        #expect(release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 6, 12, 16)) == utc(2026, 6, 15, 7))
        // Friday 23 October (CEST) to Monday 26 October (CET): 09:00 CET is 08:00 UTC.
        #expect(release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 10, 23, 16)) == utc(2026, 10, 26, 8))
    }

    @Test func aWindowInTheSkippedHourOpensWhenTheClockJumpsIn() {
        var campaign = openCampaign(timeZone: newYork)
        campaign.windows = [
            CallingWindow(weekday: .sunday, start: LocalTime(hour: 2, minute: 30), end: LocalTime(hour: 3, minute: 30))
        ]
        campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
        let person = contact("c1")
        // 8 March: 02:30 EST never happens; the clock reads 03:00 EDT at 07:00 UTC, inside.
        #expect(release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 7))
        #expect(verdict(person, campaign, at: utc(2026, 3, 8, 7)).isDialable)
        // 03:30 EDT closes it; next Sunday 02:30 EDT is 06:30 UTC.
        #expect(
            release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 3, 8, 7, 30)) == utc(2026, 3, 15, 6, 30))
    }

    @Test func aWindowInTheRepeatedHourOpensTwice() {
        var campaign = openCampaign(timeZone: newYork)
        campaign.windows = [
            CallingWindow(weekday: .sunday, start: LocalTime(hour: 1), end: LocalTime(hour: 1, minute: 30))
        ]
        campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
        let person = contact("c1")
        // 1 November: 01:00–01:30 EDT is 05:00–05:30 UTC, and 01:00–01:30 EST is 06:00–06:30 UTC.
        #expect(release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5))
        #expect(verdict(person, campaign, at: utc(2026, 11, 1, 5, 15)).isDialable)
        #expect(
            release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 1, 6))
        #expect(verdict(person, campaign, at: utc(2026, 11, 1, 6, 15)).isDialable)
        #expect(
            release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 11, 1, 6, 30)) == utc(2026, 11, 8, 6))
    }

    @Test func aWindowEndingInTheRepeatedHourReopensWhenTheClockIsTurnedBack() {
        var campaign = openCampaign(timeZone: newYork)
        campaign.windows = [
            CallingWindow(weekday: .sunday, start: LocalTime(hour: 0, minute: 30), end: LocalTime(hour: 1, minute: 30))
        ]
        campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
        let person = contact("c1")
        // 1 November: 00:30–01:30 EDT is 04:30–05:30 UTC. At 06:00 UTC the clock goes back from
        // 02:00 EDT to 01:00 EST, inside the window again without passing its start, until
        // 01:30 EST (06:30 UTC).
        #expect(
            release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 1, 6))
        #expect(verdict(person, campaign, at: utc(2026, 11, 1, 6, 29)).isDialable)
        #expect(
            release(of: .campaignWindowClosed, person, campaign, at: utc(2026, 11, 1, 6, 30)) == utc(2026, 11, 8, 5, 30)
        )
    }

    @Test func copenhagenRepeatedHourKeepsAWindowOpenForTwoHours() {
        var campaign = openCampaign(timeZone: copenhagen)
        campaign.windows = [CallingWindow(weekday: .sunday, start: LocalTime(hour: 2), end: LocalTime(hour: 3))]
        campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
        let person = contact("c1")
        // 25 October: 02:00–03:00 CEST is 00:00–01:00 UTC, then 02:00–03:00 CET is 01:00–02:00 UTC.
        #expect(verdict(person, campaign, at: utc(2026, 10, 25, 0, 30)).isDialable)
        #expect(verdict(person, campaign, at: utc(2026, 10, 25, 1, 30)).isDialable)
        #expect(rules(person, campaign, at: utc(2026, 10, 25, 2)) == [.campaignWindowClosed])
    }

    @Test func automaticCampaignStaysOnInTheGapsButHandsNothingOut() {
        var campaign = openCampaign(timeZone: copenhagen)
        campaign.status = .automatic
        campaign.windows = [
            CallingWindow(weekday: .monday, start: LocalTime(hour: 9), end: LocalTime(hour: 12)),
            CallingWindow(weekday: .monday, start: LocalTime(hour: 13), end: LocalTime(hour: 17)),
        ]
        let person = contact("c1")
        // Monday 15 June, CEST. 10:00: open.
        #expect(verdict(person, campaign, at: utc(2026, 6, 15, 8)).isDialable)
        // 12:30: in the gap: on, but the window is closed until 13:00.
        let gap = verdict(person, campaign, at: utc(2026, 6, 15, 10, 30)).holds
        #expect(gap == [DialabilityHold(.campaignWindowClosed, until: utc(2026, 6, 15, 11))])
        // 18:00: switched off until next Monday 09:00.
        let after = verdict(person, campaign, at: utc(2026, 6, 15, 16)).holds
        #expect(
            after == [
                DialabilityHold(.campaignAutomaticOff, until: utc(2026, 6, 22, 7)),
                DialabilityHold(.campaignWindowClosed, until: utc(2026, 6, 22, 7)),
            ])
    }

    @Test func automaticWithoutWindowsNeverDials() {
        var campaign = openCampaign()
        campaign.status = .automatic
        let holds = verdict(contact("c1"), campaign, at: utc(2026, 6, 15, 12)).holds
        #expect(holds.map(\.rule) == [.campaignAutomaticOff, .campaignWindowClosed])
        #expect(holds.allSatisfy { $0.dialableAt == nil })
    }

    @Test func earliestDialableCombinesTheWindowAndTheContactsHours() {
        // The campaign dials 22:00–24:00 in Copenhagen; a New York contact may be called from
        // 08:00 New York time. Tuesday 16 June 2026, CEST and EDT: the window is 20:00–22:00
        // UTC, New York's 08:00–21:00 is 12:00–01:00 UTC: they meet at 20:00 UTC.
        var campaign = openCampaign(timeZone: copenhagen)
        campaign.windows = CallingWindow.on(Weekday.allCases, from: LocalTime(hour: 22), to: .endOfDay)
        let person = contact("c1", timeZone: newYork)
        let now = utc(2026, 6, 16, 5)
        #expect(
            Dialability.earliestDialable(
                contact: person, campaign: campaign, dnc: DoNotCallList(), now: now, privateAgentPresent: { _ in true })
                == utc(2026, 6, 16, 20))
        // In Tokyo (UTC+9) 08:00–21:00 is 23:00–12:00 UTC: the window (20:00–22:00 UTC) closes
        // before Tokyo's morning, so no instant suits both.
        let tokyo = contact("c2", timeZone: "Asia/Tokyo")
        #expect(
            Dialability.earliestDialable(
                contact: tokyo, campaign: campaign, dnc: DoNotCallList(), now: now, privateAgentPresent: { _ in true })
                == nil)
    }
}
