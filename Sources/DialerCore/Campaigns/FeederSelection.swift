public import Foundation

/// The feeder's choice of the next contacts to hand to a campaign's node.
public enum FeederSelection {
    /// Up to `count` contacts dialable at `now`, best first.
    ///
    /// A contact is chosen exactly when ``Dialability/evaluate(contact:campaign:dnc:now:privateAgentPresent:timeZones:)``
    /// calls it dialable: the selection filters with that same function. The order:
    /// 1. due callbacks private to an (present) agent, flagged through
    ///    ``Contact/privateCallbackAgent``, then other due callbacks: a callback is a time
    ///    promised to the customer, so it goes before the list;
    /// 2. the campaign's ``CampaignSettings/priorityOrder``;
    /// 3. its ``CampaignSettings/freshVersusRetry`` order;
    /// 4. the oldest ``Contact/waitingSince`` (next-attempt time, or creation when fresh);
    /// 5. the contact id, so that the order is total and repeatable.
    public static func choose(
        from contacts: some Sequence<Contact>,
        campaign: CampaignSettings,
        count: Int,
        now: Date,
        dnc: some DoNotCallCheck,
        privateAgentPresent: (AgentID) -> Bool,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) -> [Contact] {
        guard count > 0 else { return [] }
        var rules = DialingRules(campaign: campaign, timeZones: timeZones)
        var dialable: [Contact] = []
        for contact in contacts
        where rules.evaluate(contact, dnc: dnc, now: now, privateAgentPresent: privateAgentPresent, releases: false)
            .isDialable
        {
            dialable.append(contact)
        }
        let order = ContactOrder(campaign: campaign)
        return Array(dialable.sorted(by: order.areInIncreasingOrder).prefix(count))
    }
}

/// The feeder's order of dialable contacts (see ``FeederSelection``).
public struct ContactOrder: Sendable {
    /// The campaign's keys.
    public let priorityOrder: [SortKey]
    /// The campaign's fresh-versus-retry order.
    public let freshVersusRetry: FreshRetryOrder

    /// The order `campaign` sets.
    public init(campaign: CampaignSettings) {
        self.priorityOrder = campaign.priorityOrder
        self.freshVersusRetry = campaign.freshVersusRetry
    }

    /// Whether `lhs` goes before `rhs`.
    public func areInIncreasingOrder(_ lhs: Contact, _ rhs: Contact) -> Bool {
        let (lhsGroup, rhsGroup) = (Self.callbackGroup(lhs), Self.callbackGroup(rhs))
        if lhsGroup != rhsGroup { return lhsGroup < rhsGroup }
        for key in priorityOrder {
            let (lhsValue, rhsValue) = (SortValue(lhs, key.field), SortValue(rhs, key.field))
            // A missing value goes last in either direction, so that a descending sort does not
            // bring the blanks to the top.
            switch (lhsValue, rhsValue) {
            case (nil, nil): continue
            case (nil, _): return false
            case (_, nil): return true
            case (let a?, let b?):
                if a < b { return key.order == .ascending }
                if b < a { return key.order == .descending }
            }
        }
        if lhs.isFresh != rhs.isFresh {
            switch freshVersusRetry {
            case .freshFirst: return lhs.isFresh
            case .retriesFirst: return rhs.isFresh
            case .interleaved: break
            }
        }
        if lhs.waitingSince != rhs.waitingSince { return lhs.waitingSince < rhs.waitingSince }
        return lhs.id < rhs.id
    }

    /// 0 for a private callback, 1 for another callback, 2 for the rest.
    private static func callbackGroup(_ contact: Contact) -> Int {
        guard let callback = contact.callback else { return 2 }
        return callback.privateAgent == nil ? 1 : 0
    }
}

/// A contact's value of one sort field.
///
/// Custom fields are text; numbers among them compare as numbers and go before other text,
/// which keeps the order total ("9" before "10", both before "n/a").
private enum SortValue: Comparable {
    case number(Double)
    case text(String)
    case instant(Date)

    init?(_ contact: Contact, _ field: SortField) {
        switch field {
        case .priority: self = .number(Double(contact.priority))
        case .attempts: self = .number(Double(contact.attempts))
        case .createdAt: self = .instant(contact.createdAt)
        case .lastAttemptAt:
            guard let at = contact.lastAttemptAt else { return nil }
            self = .instant(at)
        case .field(let name):
            guard let text = contact.fields[name] else { return nil }
            if let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite {
                self = .number(number)
            } else {
                self = .text(text)
            }
        }
    }
}
