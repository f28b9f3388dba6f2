import DialerCore
import Foundation

/// Small fixtures shared by the campaign tests.
///
/// Suites adopt this protocol instead of using globals, so that the names cannot clash with
/// other test files of the module.
protocol CampaignFixtures {}

extension CampaignFixtures {
    var campaignID: CampaignID { CampaignID("camp-1") }
    var listID: ContactListID { ContactListID("list-1") }
    var alice: AgentID { AgentID("alice") }
    var bob: AgentID { AgentID("bob") }
    var node1: MemberID { MemberID("node-1") }
    var node2: MemberID { MemberID("node-2") }

    /// The instant of a UTC wall-clock time.
    func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(
            from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
    }

    /// An enabled campaign with no windows, calling hours 08:00–21:00, in `timeZone`.
    func openCampaign(timeZone: String = "UTC", maximumAttempts: Int = 3) -> CampaignSettings {
        CampaignSettings(status: .enabled, maximumAttempts: maximumAttempts, timeZone: timeZone)
    }

    func contact(
        _ id: String,
        phone: String? = nil,
        timeZone: String? = nil,
        priority: Int = 0,
        fields: [String: String] = [:],
        state: ContactState = .fresh,
        attempts: Int = 0,
        callback: Callback? = nil,
        createdAt: Date? = nil
    ) -> Contact {
        Contact(
            id: ContactID(id),
            campaign: campaignID,
            list: listID,
            phoneNumber: phone ?? defaultPhone(for: id),
            timeZone: timeZone,
            priority: priority,
            fields: fields,
            state: state,
            attempts: attempts,
            callback: callback,
            createdAt: createdAt ?? utc(2026, 1, 1)
        )
    }

    /// A New York number made from the id, so that distinct ids get distinct numbers.
    func defaultPhone(for id: String) -> String {
        let digits = id.unicodeScalars.reduce(0) { ($0 * 31 + Int($1.value)) % 10_000_000 }
        let text = String(digits)
        return "+1212" + String(repeating: "0", count: 7 - text.count) + text
    }

    /// Evaluates with no DNC and every agent present unless told otherwise.
    func verdict(
        _ contact: Contact,
        _ campaign: CampaignSettings,
        at now: Date,
        dnc: DoNotCallList = DoNotCallList(),
        present: Set<AgentID>? = nil,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) -> DialabilityVerdict {
        Dialability.evaluate(
            contact: contact, campaign: campaign, dnc: dnc, now: now,
            privateAgentPresent: { present?.contains($0) ?? true }, timeZones: timeZones)
    }

    /// The rules holding `contact`, in order.
    func rules(
        _ contact: Contact, _ campaign: CampaignSettings, at now: Date, dnc: DoNotCallList = DoNotCallList(),
        present: Set<AgentID>? = nil
    ) -> [HoldRule] {
        verdict(contact, campaign, at: now, dnc: dnc, present: present).holds.map(\.rule)
    }

    /// The instant the hold of `rule` names, if `rule` holds.
    func release(
        of rule: HoldRule, _ contact: Contact, _ campaign: CampaignSettings, at now: Date,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) -> Date?? {
        verdict(contact, campaign, at: now, timeZones: timeZones).holds.first { $0.rule == rule }.map(\.dialableAt)
    }
}

/// A resolver that maps numbers by prefix, for tests.
struct PrefixTimeZoneResolver: TimeZoneResolver {
    var zones: [(prefix: String, zone: String)]

    func timeZone(forPhoneNumber phoneNumber: String) -> TimeZone? {
        zones.first { phoneNumber.hasPrefix($0.prefix) }.flatMap { TimeZone(identifier: $0.zone) }
    }
}
