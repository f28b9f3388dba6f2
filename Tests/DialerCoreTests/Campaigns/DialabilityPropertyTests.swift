import DialerCore
import Foundation
import Testing

/// Seeded random campaigns, contacts and instants: the feeder agrees with ``Dialability``, and
/// every reported release instant is right.
@Suite struct DialabilityPropertyTests: CampaignFixtures {
    let zones: [String?] = [
        nil, "America/New_York", "Europe/Copenhagen", "Asia/Tokyo", "Asia/Kolkata", "Australia/Lord_Howe",
        "America/Los_Angeles",
    ]
    let agents = [AgentID("alice"), AgentID("bob"), AgentID("carol")]
    let present: Set<AgentID> = [AgentID("alice"), AgentID("carol")]
    /// Instants around the 2026 changes of the zones above, and a plain day.
    var anchors: [Date] {
        [
            utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2026, 4, 5, 15),
            utc(2026, 10, 4, 15), utc(2026, 6, 10, 12),
        ]
    }

    func randomInstant(_ rng: inout SeededGenerator) -> Date {
        let anchor = anchors.randomElement(using: &rng)!
        // Whole minutes most of the time (window edges), odd seconds sometimes.
        let minutes = Double(Int.random(in: -3 * 1440...3 * 1440, using: &rng)) * 60
        let seconds = Bool.random(using: &rng) ? 0 : Double(Int.random(in: 0..<60, using: &rng))
        return anchor.addingTimeInterval(minutes + seconds)
    }

    /// A random campaign; an `open` one is enabled with no windows and calling hours all day, so
    /// that most contacts are dialable and the order is well exercised.
    func randomCampaign(_ rng: inout SeededGenerator, open: Bool = false) -> CampaignSettings {
        var campaign = CampaignSettings()
        campaign.status = [.enabled, .enabled, .enabled, .automatic, .disabled].randomElement(using: &rng)!
        campaign.timeZone = ["UTC", "America/New_York", "Europe/Copenhagen", "Asia/Kolkata"].randomElement(using: &rng)!
        campaign.maximumAttempts = Int.random(in: 1...4, using: &rng)
        let windowCount =
            campaign.status == .automatic ? Int.random(in: 1...6, using: &rng) : Int.random(in: 0...4, using: &rng)
        campaign.windows = (0..<windowCount).map { _ in
            let start = Int.random(in: 0..<(24 * 4), using: &rng) * 15
            let end = Int.random(in: (start / 15 + 1)...(24 * 4), using: &rng) * 15
            return CallingWindow(
                weekday: Weekday.allCases.randomElement(using: &rng)!,
                start: LocalTime(hour: 0, minute: start), end: LocalTime(hour: 0, minute: end))
        }
        let opening = Int.random(in: 6...10, using: &rng)
        campaign.callingHours = CallingHours(
            start: LocalTime(hour: opening, minute: [0, 30].randomElement(using: &rng)!),
            end: LocalTime(hour: Int.random(in: 17...23, using: &rng)))
        let keys: [SortKey] = [
            SortKey(.priority), SortKey(.priority, .descending), SortKey(.field("region")),
            SortKey(.field("score"), .descending), SortKey(.attempts), SortKey(.lastAttemptAt, .descending),
            SortKey(.createdAt),
        ]
        campaign.priorityOrder = Array(keys.shuffled(using: &rng).prefix(Int.random(in: 0...3, using: &rng)))
        campaign.freshVersusRetry = FreshRetryOrder.allCases.randomElement(using: &rng)!
        if open {
            campaign.status = .enabled
            campaign.windows = []
            campaign.callingHours = CallingHours(start: .startOfDay, end: .endOfDay)
            campaign.maximumAttempts = 5
        }
        return campaign
    }

    func randomContact(_ index: Int, around now: Date, _ rng: inout SeededGenerator) -> Contact {
        func near() -> Date { now.addingTimeInterval(Double(Int.random(in: -2 * 86_400...2 * 86_400, using: &rng))) }
        let attempts = Int.random(in: 0...4, using: &rng)
        let state: ContactState
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<3: state = attempts == 0 ? .fresh : .scheduled(at: near())
        case 3..<7: state = .scheduled(at: near())
        case 7: state = .inAttempt(AttemptID("open-\(index)"))
        case 8: state = .final(.attemptsExhausted)
        default: state = .final(.outcome(.connected))
        }
        var callback: Callback?
        if case .scheduled(let at) = state, Int.random(in: 0..<4, using: &rng) == 0 {
            callback = Callback(
                at: at, privateAgent: Bool.random(using: &rng) ? agents.randomElement(using: &rng)! : nil)
        }
        var fields: [String: String] = [:]
        if Bool.random(using: &rng) { fields["region"] = ["north", "south", "east"].randomElement(using: &rng)! }
        if Bool.random(using: &rng) { fields["score"] = ["1", "2", "10", "n/a"].randomElement(using: &rng)! }
        return Contact(
            id: ContactID("c\(index)"), campaign: campaignID, list: listID,
            phoneNumber: "+45\(10_000_000 + index)",
            timeZone: zones.randomElement(using: &rng)!,
            priority: Int.random(in: 0...3, using: &rng),
            fields: fields,
            state: state,
            attempts: attempts,
            lastAttemptAt: attempts > 0 ? near() : nil,
            callback: callback,
            createdAt: now.addingTimeInterval(-Double(Int.random(in: 0...30, using: &rng)) * 86_400))
    }

    /// An independent statement of the feeder's order, as a list of comparable keys.
    func referenceKeys(_ contact: Contact, _ campaign: CampaignSettings) -> [Double] {
        var keys: [Double] = [contact.callback == nil ? 2 : (contact.callback?.privateAgent == nil ? 1 : 0)]
        for key in campaign.priorityOrder {
            let sign: Double = key.order == .ascending ? 1 : -1
            func value(_ number: Double?) -> [Double] { number.map { [0, sign * $0] } ?? [1, 0] }
            switch key.field {
            case .priority: keys += value(Double(contact.priority))
            case .attempts: keys += value(Double(contact.attempts))
            case .createdAt: keys += value(contact.createdAt.timeIntervalSince1970)
            case .lastAttemptAt: keys += value(contact.lastAttemptAt?.timeIntervalSince1970)
            case .field(let name):
                // Test data: regions rank east < north < south, scores as numbers, "n/a" after them.
                let text = contact.fields[name]
                let rank: Double? =
                    switch text {
                    case nil: nil
                    case "east": 0
                    case "north": 1
                    case "south": 2
                    case "n/a": 1e9
                    default: Double(text!)
                    }
                keys += value(rank)
            }
        }
        switch campaign.freshVersusRetry {
        case .freshFirst: keys.append(contact.isFresh ? 0 : 1)
        case .retriesFirst: keys.append(contact.isFresh ? 1 : 0)
        case .interleaved: keys.append(0)
        }
        keys.append(contact.waitingSince.timeIntervalSince1970)
        return keys
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func feederChoosesExactlyTheDialableContactsInOrder(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var orderedPairs = 0
        for round in 0..<6 {
            let campaign = randomCampaign(&rng, open: round.isMultiple(of: 2))
            let now = randomInstant(&rng)
            let contacts = (0..<60).map { randomContact($0, around: now, &rng) }
            let dnc = DoNotCallList(
                Set(contacts.filter { _ in Int.random(in: 0..<10, using: &rng) == 0 }.map(\.phoneNumber)))
            let isPresent: (AgentID) -> Bool = { present.contains($0) }
            let dialable = contacts.filter {
                Dialability.evaluate(
                    contact: $0, campaign: campaign, dnc: dnc, now: now, privateAgentPresent: isPresent
                )
                .isDialable
            }
            let all = FeederSelection.choose(
                from: contacts.shuffled(using: &rng), campaign: campaign, count: contacts.count, now: now, dnc: dnc,
                privateAgentPresent: isPresent)
            #expect(Set(all.map(\.id)) == Set(dialable.map(\.id)))
            #expect(all.count == dialable.count)
            for (earlier, later) in zip(all, all.dropFirst()) {
                orderedPairs += 1
                let (a, b) = (referenceKeys(earlier, campaign), referenceKeys(later, campaign))
                #expect(
                    a.lexicographicallyPrecedes(b) || (a == b && earlier.id < later.id),
                    "\(earlier.id) before \(later.id)")
            }
            for count in [0, 1, 3, 10] {
                let some = FeederSelection.choose(
                    from: contacts, campaign: campaign, count: count, now: now, dnc: dnc, privateAgentPresent: isPresent
                )
                #expect(some.map(\.id) == all.prefix(count).map(\.id))
            }
            let summary = CampaignSummary(
                contacts: contacts, campaign: campaign, dnc: dnc, now: now, privateAgentPresent: isPresent)
            #expect(summary.dialableNow == dialable.count)
            #expect(summary.held == contacts.count - dialable.count)
        }
        #expect(orderedPairs >= 40)
    }

    @Test(arguments: [UInt64(11), 12, 13, 14, 15, 16, 17, 18])
    func everyReleaseInstantIsTheEarliestAndIsRight(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var checkedSoleHolds = 0
        var checkedTimeHolds = 0
        for _ in 0..<6 {
            let campaign = randomCampaign(&rng)
            let now = randomInstant(&rng)
            let contacts = (0..<50).map { randomContact($0, around: now, &rng) }
            let dnc = DoNotCallList(
                Set(contacts.filter { _ in Int.random(in: 0..<10, using: &rng) == 0 }.map(\.phoneNumber)))
            let isPresent: (AgentID) -> Bool = { present.contains($0) }
            func holds(_ contact: Contact, at instant: Date) -> [DialabilityHold] {
                Dialability.evaluate(
                    contact: contact, campaign: campaign, dnc: dnc, now: instant, privateAgentPresent: isPresent
                )
                .holds
            }
            for contact in contacts {
                let current = holds(contact, at: now)
                for hold in current {
                    guard let release = hold.dialableAt else { continue }
                    checkedTimeHolds += 1
                    #expect(release > now, "\(hold.rule) of \(contact.id)")
                    // At the release the rule no longer holds ...
                    #expect(
                        !holds(contact, at: release).map(\.rule).contains(hold.rule), "\(hold.rule) of \(contact.id)")
                    // ... and just before it, it still did (the release is the earliest).
                    let before = release.addingTimeInterval(-1)
                    if before > now {
                        #expect(
                            holds(contact, at: before).map(\.rule).contains(hold.rule), "\(hold.rule) of \(contact.id)")
                    }
                }
                // A contact held by one rule alone becomes dialable at its release if no other rule
                // holds it then. Only the campaign's windows and the contact's calling hours can
                // start holding as time passes, so open those the hold is not about, and check.
                if current.count == 1, let release = current[0].dialableAt {
                    checkedSoleHolds += 1
                    let allDay = CallingHours(start: .startOfDay, end: .endOfDay)
                    var alone = campaign
                    switch current[0].rule {
                    case .outsideCallingHours:
                        alone.status = .enabled
                        alone.windows = []
                    case .campaignWindowClosed, .campaignAutomaticOff:
                        alone.callingHours = allDay
                    default:
                        alone.status = .enabled
                        alone.windows = []
                        alone.callingHours = allDay
                    }
                    func aloneHolds(at instant: Date) -> [DialabilityHold] {
                        Dialability.evaluate(
                            contact: contact, campaign: alone, dnc: dnc, now: instant, privateAgentPresent: isPresent
                        ).holds
                    }
                    #expect(aloneHolds(at: now) == current)
                    #expect(aloneHolds(at: release).isEmpty, "\(current[0].rule) of \(contact.id)")
                }
                // The combined earliest instant is dialable, and no earlier than any single release.
                let earliest = Dialability.earliestDialable(
                    contact: contact, campaign: campaign, dnc: dnc, now: now, privateAgentPresent: isPresent)
                if let earliest {
                    #expect(holds(contact, at: earliest).isEmpty)
                    #expect(current.allSatisfy { ($0.dialableAt ?? .distantFuture) <= earliest })
                } else {
                    #expect(!current.isEmpty)
                }
                if current.isEmpty { #expect(earliest == now) }
            }
        }
        #expect(checkedSoleHolds >= 5)
        #expect(checkedTimeHolds >= 50)
    }
}
