public import Foundation

/// Why a campaign's contacts are or are not dialable, counted: the campaign's "why not
/// dialable".
public struct CampaignSummary: Hashable, Sendable, Codable {
    /// Contacts evaluated.
    public var contacts: Int
    /// Contacts that may be handed out now.
    public var dialableNow: Int
    /// Contacts held by at least one rule.
    public var held: Int
    /// Contacts held by each rule; a contact held by several rules counts under each.
    public var heldBy: [HoldRule: Int]
    /// Held contacts whose every hold names a release instant: time alone may make them
    /// dialable (no DNC, no attempts used, no open attempt ...).
    public var heldUntilTime: Int
    /// The earliest instant at which every rule now holding one of those contacts has let go
    /// (the minimum over them of their latest release): no held contact is dialable sooner.
    public var nextRelease: Date?

    /// Evaluates every contact with ``Dialability/evaluate(contact:campaign:dnc:now:privateAgentPresent:timeZones:)``
    /// at `now` and counts the verdicts.
    public init(
        contacts: some Sequence<Contact>,
        campaign: CampaignSettings,
        dnc: some DoNotCallCheck,
        now: Date,
        privateAgentPresent: (AgentID) -> Bool,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) {
        var rules = DialingRules(campaign: campaign, timeZones: timeZones)
        self.contacts = 0
        self.dialableNow = 0
        self.held = 0
        self.heldBy = [:]
        self.heldUntilTime = 0
        self.nextRelease = nil
        for contact in contacts {
            self.contacts += 1
            let holds = rules.evaluate(contact, dnc: dnc, now: now, privateAgentPresent: privateAgentPresent).holds
            guard !holds.isEmpty else {
                dialableNow += 1
                continue
            }
            held += 1
            for hold in holds { heldBy[hold.rule, default: 0] += 1 }
            let releases = holds.compactMap(\.dialableAt)
            if releases.count == holds.count, let release = releases.max() {
                heldUntilTime += 1
                nextRelease = min(nextRelease ?? release, release)
            }
        }
    }
}
