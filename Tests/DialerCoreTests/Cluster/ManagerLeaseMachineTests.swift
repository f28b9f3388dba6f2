import DialerCore
import Testing

@Suite("Manager lease: active and standby")
struct ManagerLeaseMachineTests {
    typealias Action = ManagerLeaseMachine.Action

    let start = Moment.origin
    /// 5 s lease, 1 s margin, renewal every 1.5 s, a standby's attempt every second.
    func machine() -> ManagerLeaseMachine {
        ManagerLeaseMachine(
            duration: .seconds(5), margin: .seconds(1), renewInterval: .milliseconds(1500),
            retryInterval: .seconds(1), at: start)
    }

    @Test func aStandbyTriesAtOnceThenEveryRetryInterval() {
        var lease = machine()
        #expect(lease.tick(at: start) == [.tryAcquire])
        // One attempt at a time.
        #expect(lease.tick(at: start + .milliseconds(100)).isEmpty)
        #expect(lease.acquireFailed(at: start + .milliseconds(200)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(1100)).isEmpty)
        #expect(lease.nextDeadline == start + .milliseconds(1200))
        #expect(lease.tick(at: start + .milliseconds(1200)) == [.tryAcquire])
        #expect(lease.role == .standby)
    }

    @Test func acquiringStartsServingAndTheLeaseIsRenewed() {
        var lease = machine()
        _ = lease.tick(at: start)
        let term = ManagerTerm(3)
        #expect(lease.acquired(term, startedAt: start, now: start + .milliseconds(50)) == [.startServing(term)])
        #expect(lease.role == .active(term))
        #expect(lease.tick(at: start + .milliseconds(1400)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(1500)) == [.renew(term)])
        // No second renewal while one is in flight.
        #expect(lease.tick(at: start + .milliseconds(2000)).isEmpty)
        let renewedAt = start + .milliseconds(1500)
        #expect(lease.renewed(term, startedAt: renewedAt, now: start + .milliseconds(2100)).isEmpty)
        #expect(lease.nextDeadline == renewedAt + .milliseconds(1500))
        // Valid until the renewal's start + 5 s - 1 s margin.
        #expect(lease.tick(at: renewedAt + .milliseconds(3999)).contains(.stopServing) == false)
    }

    @Test func anUnrenewedLeaseStopsServingBeforeTheStoreLetsItGo() {
        var lease = machine()
        _ = lease.tick(at: start)
        let term = ManagerTerm(1)
        _ = lease.acquired(term, startedAt: start, now: start)
        #expect(lease.tick(at: start + .milliseconds(1500)) == [.renew(term)])
        // The renewal hangs (a locked database); the lease runs out at 4 s on this clock,
        // a second before the store's expiry.
        #expect(lease.tick(at: start + .milliseconds(3999)).isEmpty)
        #expect(lease.tick(at: start + .seconds(4)) == [.stopServing])
        #expect(lease.role == .standby)
        // The late answer changes nothing.
        #expect(lease.renewed(term, startedAt: start + .milliseconds(1500), now: start + .seconds(5)).isEmpty)
        #expect(lease.role == .standby)
    }

    @Test func aFailedRenewalIsRetriedWhileTheLeaseRuns() {
        var lease = machine()
        _ = lease.tick(at: start)
        let term = ManagerTerm(1)
        _ = lease.acquired(term, startedAt: start, now: start)
        _ = lease.tick(at: start + .milliseconds(1500))
        #expect(lease.renewalFailed(at: start + .milliseconds(1600)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(2599)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(2600)) == [.renew(term)])
        #expect(lease.renewed(term, startedAt: start + .milliseconds(2600), now: start + .milliseconds(2700)).isEmpty)
        #expect(lease.tick(at: start + .seconds(4)).isEmpty)
        #expect(lease.role == .active(term))
    }

    @Test func aLeaseTakenByAnotherManagerStopsServingAtOnce() {
        var lease = machine()
        _ = lease.tick(at: start)
        let term = ManagerTerm(1)
        _ = lease.acquired(term, startedAt: start, now: start)
        _ = lease.tick(at: start + .milliseconds(1500))
        #expect(lease.lost(at: start + .milliseconds(1600)) == [.stopServing])
        #expect(lease.role == .standby)
        // It stands by and tries again later, not at once.
        #expect(lease.tick(at: start + .milliseconds(2500)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(2600)) == [.tryAcquire])
    }

    @Test func aGrantThatArrivesAfterItsValidityIsNotServed() {
        var lease = machine()
        _ = lease.tick(at: start)
        #expect(lease.acquired(ManagerTerm(2), startedAt: start, now: start + .seconds(4)).isEmpty)
        #expect(lease.role == .standby)
        #expect(lease.tick(at: start + .seconds(4)) == [.tryAcquire])
    }

    @Test func shuttingDownStopsServingAndNeverTriesAgain() {
        var lease = machine()
        _ = lease.tick(at: start)
        _ = lease.acquired(ManagerTerm(1), startedAt: start, now: start)
        #expect(lease.shutDown() == [.stopServing])
        #expect(lease.tick(at: start + .seconds(60)).isEmpty)
        #expect(lease.nextDeadline == nil)
    }

    @Test func aRenewalThatAnswersLateStillKeepsTheEarlierDeadline() {
        var lease = machine()
        _ = lease.tick(at: start)
        let term = ManagerTerm(1)
        _ = lease.acquired(term, startedAt: start, now: start)
        _ = lease.tick(at: start + .milliseconds(1500))
        // A renewal begun at 1.5 s answered at 3.9 s: valid until 5.5 s on this clock.
        #expect(lease.renewed(term, startedAt: start + .milliseconds(1500), now: start + .milliseconds(3900)).isEmpty)
        #expect(lease.tick(at: start + .milliseconds(5499)) == [.renew(term)])
        #expect(lease.tick(at: start + .milliseconds(5500)) == [.stopServing])
    }
}
