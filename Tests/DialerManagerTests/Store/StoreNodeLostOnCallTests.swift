import DialerCore
import Foundation
import Testing

@testable import DialerManager

/// An agent talked on a call whose node was lost: the attempt closes `unknown` (nobody
/// reported how the call ended) but says an agent talked, is counted apart, and the agent's
/// disposition applies, whether it arrives before the manager closes the attempt or after.
@Suite("Store: attempts whose node was lost while an agent was on the call")
struct StoreNodeLostOnCallTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    func handOut(count: Int = 1) async throws -> [AttemptHandOut] {
        var settings = CampaignSettings.dialing
        settings.retryIntervals.unknown = .seconds(30 * 60)
        try await makeCampaign(store, settings: settings)
        try await addContacts(store, count: count)
        return try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: count, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
    }

    @Test(arguments: StoreKind.allCases) func aDispositionBeforeTheSweepIsKeptAndAppliedWhenTheAttemptClosesUnknown(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        let attempt = try #require(try await handOut().first)
        // Without the gateway's word that the node was lost, an open attempt still waits.
        #expect(
            try await store.recordDisposition(
                .final("sale"), attempt: attempt.attempt, agent: AgentID("ann"), now: StoreTime.minutes(1))
                == .attemptStillOpen)
        let kept = try await store.recordDisposition(
            .final("sale"), attempt: attempt.attempt, agent: AgentID("ann"), nodeLost: true,
            now: StoreTime.minutes(1))
        guard case .applied = kept else {
            Issue.record("not kept: \(kept)")
            return
        }
        let open = try #require(try await store.attempt(attempt.attempt))
        #expect(open.isOpen && open.nodeLostOnCall && open.disposition == .final("sale"))
        #expect(
            try await store.recordDisposition(
                .final("sale"), attempt: attempt.attempt, agent: AgentID("ann"), nodeLost: true,
                now: StoreTime.minutes(2)) == .duplicate)

        _ = try await store.closeAttemptsOfLostNode(MemberID("n1"), now: StoreTime.minutes(3))
        let closed = try #require(try await store.attempt(attempt.attempt))
        #expect(closed.outcome == .unknown && closed.nodeLostOnCall)
        #expect(closed.disposition == .final("sale") && closed.agent == AgentID("ann"))
        // The final disposition keeps the contact from being called again.
        let contact = try #require(try await store.contact(attempt.contact.id))
        #expect(contact.state == .final(.disposition("sale")))

        let report = try #require(try await store.campaignReport(CampaignID("c1"), now: StoreTime.minutes(4)))
        #expect(report.nodeLostOnCall == 1)
        #expect(report.attemptsByOutcome[.unknown] == 1)
        #expect(report.attemptsByDisposition["sale"] == 1)
    }

    @Test(arguments: StoreKind.allCases) func aDispositionAfterTheSweepMarksTheAttemptAndApplies(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let attempts = try await handOut(count: 2)
        _ = try await store.closeAttemptsOfLostNode(MemberID("n1"), now: StoreTime.minutes(1))
        let first = attempts[0]
        let update = try await store.recordDisposition(
            .final("no interest"), attempt: first.attempt, agent: AgentID("ann"), now: StoreTime.minutes(2))
        guard case .applied(let contact) = update else {
            Issue.record("not applied: \(update)")
            return
        }
        #expect(contact.state == .final(.disposition("no interest")))
        #expect(try await store.attempt(first.attempt)?.nodeLostOnCall == true)
        // The other attempt had no agent: plain unknown, retried after the interval.
        #expect(try await store.attempt(attempts[1].attempt)?.nodeLostOnCall == false)
        #expect(try await store.contact(attempts[1].contact.id)?.state == .scheduled(at: StoreTime.minutes(31)))
        let report = try #require(try await store.campaignReport(CampaignID("c1"), now: StoreTime.minutes(4)))
        #expect(report.nodeLostOnCall == 1)
    }

    @Test(arguments: StoreKind.allCases) func aNodeThatComesBackAndReportsTheCallClearsTheMark(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let attempt = try #require(try await handOut().first)
        _ = try await store.recordDisposition(
            .retry("busy later"), attempt: attempt.attempt, agent: AgentID("ann"), nodeLost: true,
            now: StoreTime.minutes(1))
        _ = try await store.recordResult(
            AttemptResult(attempt: attempt.attempt, contact: attempt.contact.id, outcome: .connected),
            now: StoreTime.minutes(2))
        let record = try #require(try await store.attempt(attempt.attempt))
        #expect(record.outcome == .connected && !record.nodeLostOnCall)
        #expect(record.disposition == .retry("busy later"), "the kept disposition applies with the node's result")
        #expect(record.agent == AgentID("ann"))
    }
}
