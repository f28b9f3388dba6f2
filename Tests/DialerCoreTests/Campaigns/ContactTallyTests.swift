import DialerCore
import Foundation
import Testing

@Suite("A campaign's contacts counted for its report")
struct ContactTallyTests: CampaignFixtures {
    @Test func groupsCountedByAStoreGiveTheFiguresOfReadingEachContact() {
        var contacts = [
            contact("1"), contact("2", state: .scheduled(at: utc(2026, 1, 2))),
            contact("3", state: .final(.attemptsExhausted), attempts: 3),
            contact("4", state: .final(.disposition("sale"))), contact("5", state: .final(.outcome(.busy))),
            contact("6", state: .inAttempt(AttemptID("a6"))),
        ]
        contacts[2].lastOutcome = .noAnswer
        contacts[3].lastOutcome = .connected
        contacts[3].lastDisposition = "sale"
        contacts[4].lastOutcome = .busy
        let read = ContactTally(contacts)

        var grouped = ContactTally()
        grouped.add(state: .fresh, attemptsExhausted: false, lastOutcome: nil, lastDisposition: nil, count: 1)
        grouped.add(state: .scheduled, attemptsExhausted: false, lastOutcome: nil, lastDisposition: nil, count: 1)
        grouped.add(state: .final, attemptsExhausted: true, lastOutcome: .noAnswer, lastDisposition: nil, count: 1)
        grouped.add(state: .final, attemptsExhausted: false, lastOutcome: .connected, lastDisposition: "sale")
        grouped.add(state: .final, attemptsExhausted: false, lastOutcome: .busy, lastDisposition: nil)
        grouped.add(state: .inAttempt, attemptsExhausted: false, lastOutcome: nil, lastDisposition: nil)
        // An empty or negative group (nothing a database returns) adds nothing.
        grouped.add(state: .fresh, attemptsExhausted: false, lastOutcome: .busy, lastDisposition: "x", count: 0)
        grouped.add(state: .fresh, attemptsExhausted: false, lastOutcome: .busy, lastDisposition: "x", count: -2)
        #expect(grouped == read)

        let report = CampaignReport(contacts: grouped, attempts: [], now: utc(2026, 1, 3))
        #expect(report == CampaignReport(contacts: contacts, attempts: [], now: utc(2026, 1, 3)))
        #expect(report.contacts == 6 && report.exhausted == 1)
        #expect(report.contactsByState == [.fresh: 1, .scheduled: 1, .final: 3, .inAttempt: 1])
        #expect(report.contactsByLastOutcome == [.noAnswer: 1, .connected: 1, .busy: 1])
        #expect(report.contactsByLastDisposition == ["sale": 1])
    }
}
