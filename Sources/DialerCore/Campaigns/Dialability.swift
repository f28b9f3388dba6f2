public import Foundation

/// Answers whether a phone number is on a do-not-call list.
///
/// The manager scrubs against its lists (national registries, the company's own); the rules
/// only ask.
public protocol DoNotCallCheck {
    /// Whether `phoneNumber` (E.164) must not be called.
    func isDoNotCall(_ phoneNumber: String) -> Bool
}

/// A do-not-call list held in memory.
public struct DoNotCallList: DoNotCallCheck, Hashable, Sendable {
    /// The blocked numbers, E.164.
    public var numbers: Set<String>

    /// A list of `numbers`.
    public init(_ numbers: Set<String> = []) {
        self.numbers = numbers
    }

    public func isDoNotCall(_ phoneNumber: String) -> Bool { numbers.contains(phoneNumber) }
}

/// Tells the time zone a phone number is in, from its country and area code.
public protocol TimeZoneResolver {
    /// The zone of `phoneNumber` (E.164), or `nil` when the number does not tell.
    func timeZone(forPhoneNumber phoneNumber: String) -> TimeZone?
}

/// A resolver that knows no number: contacts without a zone of their own are called by the
/// campaign's zone.
public struct NoTimeZoneResolver: TimeZoneResolver, Hashable, Sendable {
    public init() {}
    public func timeZone(forPhoneNumber phoneNumber: String) -> TimeZone? { nil }
}

/// A rule that can keep a contact from being handed to a node.
public enum HoldRule: String, Hashable, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    /// The campaign is disabled.
    case campaignDisabled
    /// The campaign is automatic and outside the span of today's windows (switched off).
    case campaignAutomaticOff
    /// The campaign has windows and none is open now (for an automatic campaign this includes
    /// the gaps between windows, where it stays on but hands nothing out).
    case campaignWindowClosed
    /// The number is on a do-not-call list.
    case doNotCall
    /// The contact used the campaign's maximum attempts (a pending callback is exempt).
    case attemptsExhausted
    /// The contact's next attempt (or callback) is not due yet.
    case notDue
    /// It is outside calling hours in the contact's local time.
    case outsideCallingHours
    /// The contact is in an open attempt.
    case inAttempt
    /// The contact is closed.
    case contactFinal
    /// The contact's callback is private to an agent who is not logged in to the campaign.
    case privateAgentAbsent
}

/// One rule holding a contact back, and when it stops doing so.
public struct DialabilityHold: Hashable, Sendable, Codable {
    /// The rule.
    public var rule: HoldRule
    /// The earliest instant at which this rule, on its own, stops holding the contact (other
    /// rules may still hold it then); `nil` when it never stops by the passing of time alone
    /// (DNC, attempts used, an open attempt, a closed contact, an absent agent, a disabled
    /// campaign, windows that never open).
    public var dialableAt: Date?

    /// A hold by `rule` until `dialableAt`.
    public init(_ rule: HoldRule, until dialableAt: Date?) {
        self.rule = rule
        self.dialableAt = dialableAt
    }
}

/// Whether a contact may be handed to a node now.
public enum DialabilityVerdict: Hashable, Sendable {
    /// It may. `privateAgent` is set for a due private callback: only that agent may take it.
    case dialable(privateAgent: AgentID?)
    /// It may not; every rule that holds it, in ``HoldRule`` order.
    case held([DialabilityHold])

    /// Whether the contact may be handed out now.
    public var isDialable: Bool {
        if case .dialable = self { return true }
        return false
    }

    /// The rules holding the contact (empty when dialable).
    public var holds: [DialabilityHold] {
        if case .held(let holds) = self { return holds }
        return []
    }
}

/// The rules that decide whether a contact may be dialed now.
///
/// One function, ``evaluate(contact:campaign:dnc:now:privateAgentPresent:timeZones:)``,
/// decides; the feeder (``FeederSelection``), the per-contact "why not dialable" and the
/// campaign summary all call it, so they cannot disagree.
public enum Dialability {
    /// Every rule that keeps `contact` from being handed out at `now`, each with the instant it
    /// stops holding, or `.dialable`.
    ///
    /// - Campaign: disabled; automatic and outside the span of the day's windows; windows
    ///   given and none open. Windows are read on the campaign's clock.
    /// - Contact: on a DNC list; closed; in an open attempt; attempts used (unless a callback
    ///   is pending: an agent's promise to the customer is kept); next attempt not due;
    ///   outside calling hours on the contact's clock; a private callback's agent absent.
    ///   Callbacks obey DNC and calling hours like every other call.
    ///
    /// The contact's clock is its own ``Contact/timeZone``, else the zone `timeZones` derives
    /// from its number, else the campaign's. Hours are wall-clock hours, right across
    /// daylight-saving changes.
    ///
    /// - Parameters:
    ///   - privateAgentPresent: whether an agent is logged in to the campaign's queue (to take
    ///     a private callback).
    ///   - now: the current wall-clock instant.
    public static func evaluate(
        contact: Contact,
        campaign: CampaignSettings,
        dnc: some DoNotCallCheck,
        now: Date,
        privateAgentPresent: (AgentID) -> Bool,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) -> DialabilityVerdict {
        var rules = DialingRules(campaign: campaign, timeZones: timeZones)
        return rules.evaluate(contact, dnc: dnc, now: now, privateAgentPresent: privateAgentPresent)
    }

    /// The earliest instant at or after `now` at which `contact` is dialable if nothing but time
    /// changes (no result, no agent logging in or out), or `nil` if time alone never makes it
    /// dialable within the next eight days.
    ///
    /// Each rule's own ``DialabilityHold/dialableAt`` is a lower bound; this steps to the latest
    /// of them and asks again until every rule lets go (a window may open while calling hours
    /// are still closed, and so on).
    public static func earliestDialable(
        contact: Contact,
        campaign: CampaignSettings,
        dnc: some DoNotCallCheck,
        now: Date,
        privateAgentPresent: (AgentID) -> Bool,
        timeZones: some TimeZoneResolver = NoTimeZoneResolver()
    ) -> Date? {
        var rules = DialingRules(campaign: campaign, timeZones: timeZones)
        return rules.earliestDialable(contact, dnc: dnc, now: now, privateAgentPresent: privateAgentPresent)
    }
}

/// The campaign's rules with its clocks resolved once, for evaluating many contacts.
///
/// Also remembers, for the instant last asked about, when each schedule next opens: a campaign
/// summary evaluates every contact at one instant, and its contacts share a few zones.
struct DialingRules<Resolver: TimeZoneResolver> {
    let campaign: CampaignSettings
    let timeZones: Resolver
    let campaignClock: WallClock
    let windows: WeeklyHours
    let automaticSpans: WeeklyHours
    let callingHours: WeeklyHours
    /// Zones by identifier (`nil` for an identifier the zone database does not know).
    private var zones: [String: TimeZone?] = [:]
    /// Next openings at ``openingsInstant``, by schedule and zone.
    private var openings: [String: Double?] = [:]
    private var openingsInstant = -Double.infinity

    init(campaign: CampaignSettings, timeZones: Resolver) {
        self.campaign = campaign
        self.timeZones = timeZones
        // Validation rejects an unknown zone; a stored one that a newer zone database dropped
        // falls back to UTC rather than stopping the campaign.
        self.campaignClock = WallClock(TimeZone(identifier: campaign.timeZone) ?? .gmt)
        self.windows = WeeklyHours(windows: campaign.windows)
        self.automaticSpans = WeeklyHours.envelope(of: campaign.windows)
        self.callingHours = WeeklyHours(daily: campaign.callingHours)
    }

    /// The contact's clock: its own zone, else its number's, else the campaign's.
    mutating func clock(for contact: Contact) -> WallClock {
        clock(phoneNumber: contact.phoneNumber, timeZone: contact.timeZone)
    }

    /// The clock of a contact with `phoneNumber` and its own `timeZone`.
    mutating func clock(phoneNumber: String, timeZone: String?) -> WallClock {
        if let identifier = timeZone {
            if zones[identifier] == nil { zones[identifier] = .some(TimeZone(identifier: identifier)) }
            if let zone = zones[identifier] ?? nil { return WallClock(zone) }
        }
        if let zone = timeZones.timeZone(forPhoneNumber: phoneNumber) { return WallClock(zone) }
        return campaignClock
    }

    /// The time rules of ``evaluate(_:dnc:now:privateAgentPresent:releases:)`` that the node
    /// checks again when it dials (the contact was handed out a moment ago, and hours may have
    /// closed since): the campaign's status and windows, the contact's calling hours on its own
    /// zone, else its number's, else the campaign's; `nil` when the call may go.
    mutating func dialTimeHold(phoneNumber: String, timeZone: String?, now: Date) -> HoldRule? {
        let instant = now.timeIntervalSince1970
        switch campaign.status {
        case .disabled: return .campaignDisabled
        case .automatic where !campaignClock.isOpen(automaticSpans, at: instant): return .campaignAutomaticOff
        case .automatic, .enabled: break
        }
        if !campaign.windows.isEmpty || campaign.status == .automatic, !campaignClock.isOpen(windows, at: instant) {
            return .campaignWindowClosed
        }
        if !clock(phoneNumber: phoneNumber, timeZone: timeZone).isOpen(callingHours, at: instant) {
            return .outsideCallingHours
        }
        return nil
    }

    /// The next opening of `hours` on `clock` after `instant`, remembered under `schedule`.
    private mutating func opening(
        _ schedule: String, _ hours: WeeklyHours, on clock: WallClock, after instant: Double
    ) -> Double? {
        if instant != openingsInstant {
            openings.removeAll(keepingCapacity: true)
            openingsInstant = instant
        }
        let key = schedule + "@" + clock.zone.identifier
        if let known = openings[key] { return known }
        let next = clock.nextOpening(hours, from: instant)
        openings.updateValue(next, forKey: key)
        return next
    }

    /// The verdict on `contact` at `now`.
    ///
    /// - Parameter releases: whether to find when each time rule lets go; the feeder, which only
    ///   asks "dialable or not", skips that work. The rules found are the same either way.
    mutating func evaluate(
        _ contact: Contact, dnc: some DoNotCallCheck, now: Date, privateAgentPresent: (AgentID) -> Bool,
        releases: Bool = true
    ) -> DialabilityVerdict {
        let instant = now.timeIntervalSince1970
        var holds: [DialabilityHold] = []
        func hold(_ rule: HoldRule, _ until: Date?) {
            holds.append(DialabilityHold(rule, until: until))
        }
        func hold(_ rule: HoldRule, opening: Double?) {
            hold(rule, opening.map { Date(timeIntervalSince1970: $0) })
        }

        switch campaign.status {
        case .disabled:
            hold(.campaignDisabled, nil)
        case .automatic:
            if !campaignClock.isOpen(automaticSpans, at: instant) {
                let next = releases ? opening("automatic", automaticSpans, on: campaignClock, after: instant) : nil
                hold(.campaignAutomaticOff, opening: next)
            }
        case .enabled:
            break
        }
        if !campaign.windows.isEmpty || campaign.status == .automatic, !campaignClock.isOpen(windows, at: instant) {
            let next = releases ? opening("windows", windows, on: campaignClock, after: instant) : nil
            hold(.campaignWindowClosed, opening: next)
        }
        if dnc.isDoNotCall(contact.phoneNumber) {
            hold(.doNotCall, nil)
        }
        if contact.attempts >= campaign.maximumAttempts, contact.callback == nil {
            hold(.attemptsExhausted, nil)
        }
        if case .scheduled(let at) = contact.state, at > now {
            hold(.notDue, at)
        }
        let contactClock = clock(for: contact)
        if !contactClock.isOpen(callingHours, at: instant) {
            let next = releases ? opening("hours", callingHours, on: contactClock, after: instant) : nil
            hold(.outsideCallingHours, opening: next)
        }
        switch contact.state {
        case .inAttempt: hold(.inAttempt, nil)
        case .final: hold(.contactFinal, nil)
        case .fresh, .scheduled: break
        }
        if let agent = contact.privateCallbackAgent, !privateAgentPresent(agent) {
            hold(.privateAgentAbsent, nil)
        }

        guard holds.isEmpty else { return .held(holds) }
        return .dialable(privateAgent: contact.privateCallbackAgent)
    }

    mutating func earliestDialable(
        _ contact: Contact, dnc: some DoNotCallCheck, now: Date, privateAgentPresent: (AgentID) -> Bool
    ) -> Date? {
        let limit = now.addingTimeInterval(WallClock.searchHorizon)
        var instant = now
        // Every step moves to a later opening of some schedule; a week holds few of them.
        for _ in 0..<64 {
            let holds = evaluate(contact, dnc: dnc, now: instant, privateAgentPresent: privateAgentPresent).holds
            if holds.isEmpty { return instant }
            var next = instant
            for hold in holds {
                guard let at = hold.dialableAt else { return nil }
                next = max(next, at)
            }
            guard next > instant, next <= limit else { return nil }
            instant = next
        }
        return nil
    }
}

// A queue runner keeps one for its dial-time checks.
extension DialingRules: Sendable where Resolver: Sendable {}
