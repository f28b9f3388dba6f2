import DialerCore
import Testing

/// A moment `seconds` after the origin.
private func at(_ seconds: Double) -> Moment {
    Moment(nanosecondsSinceOrigin: Int64(seconds * 1_000_000_000))
}

private let q1 = QueueID("q-1")
private let q2 = QueueID("q-2")

/// Lease 10 s, margin 2 s: a lease is believed for 8 s after its anchor.
private func makeBook() -> NodeLeaseBook {
    NodeLeaseBook(leaseDuration: .seconds(10), safetyMargin: .seconds(2))
}

@Suite("NodeLeaseBook: a node's own view of its leases")
struct NodeLeaseBookTests {
    @Test("a grant starts the queue, valid until receipt + lease - margin; older or equal epochs are ignored")
    func grantStartsQueue() {
        var book = makeBook()
        #expect(book.granted(queue: q1, epoch: Epoch(3), at: at(1)) == [.startQueue(q1, Epoch(3))])
        #expect(book.isValid(q1, at: at(1)) == Epoch(3))
        #expect(book.isValid(q1, at: at(8.999)) == Epoch(3))
        #expect(book.isValid(q1, at: at(9)) == nil)
        #expect(book.validLeases(at: at(2)) == [ValidLease(queue: q1, epoch: Epoch(3), validUntil: at(9))])
        #expect(book.granted(queue: q1, epoch: Epoch(3), at: at(2)) == [])
        #expect(book.granted(queue: q1, epoch: Epoch(2), at: at(2)) == [])
        #expect(book.validLeases(at: at(2)).first?.validUntil == at(9))
        #expect(book.isValid(q2, at: at(2)) == nil)
    }

    @Test("a newer epoch of a held queue stops the old one and starts the new one")
    func newerGrantSupersedes() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        #expect(
            book.granted(queue: q1, epoch: Epoch(2), at: at(1)) == [
                .stopQueue(q1, Epoch(1), .superseded), .startQueue(q1, Epoch(2)),
            ]
        )
        #expect(book.isValid(q1, at: at(1)) == Epoch(2))
    }

    @Test("a renewal's validity counts from when the request was sent, not from when the answer came")
    func renewalAnchorsAtSend() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        _ = book.granted(queue: q2, epoch: Epoch(1), at: at(0))
        let renewal = book.makeRenewal(at: at(5))
        #expect(renewal.held == [HeldLease(queue: q1, epoch: Epoch(1)), HeldLease(queue: q2, epoch: Epoch(1))])
        // The answer took 4 s to come back: the lease is believed until 5 + 8, not 9 + 8.
        let actions = book.renewalAnswered(
            request: renewal.request,
            renewed: [HeldLease(queue: q1, epoch: Epoch(1)), HeldLease(queue: q2, epoch: Epoch(1))],
            rejected: [],
            at: at(9)
        )
        #expect(actions == [])
        #expect(book.validLeases(at: at(9)).map(\.validUntil) == [at(13), at(13)])
        // A late answer to an older request never shortens validity.
        let older = book.makeRenewal(at: at(6))
        let newer = book.makeRenewal(at: at(7))
        _ = book.renewalAnswered(request: newer.request, renewed: newer.held, rejected: [], at: at(7.5))
        _ = book.renewalAnswered(request: older.request, renewed: older.held, rejected: [], at: at(8))
        #expect(book.isValid(q1, at: at(14.9)) == Epoch(1))
        #expect(book.isValid(q1, at: at(15)) == nil)
        // Answers to unknown or already answered requests change nothing.
        #expect(
            book.renewalAnswered(
                request: newer.request, renewed: [],
                rejected: [RejectedLease(queue: q1, epoch: Epoch(1), reason: .staleEpoch)], at: at(8)) == [])
        #expect(
            book.renewalAnswered(
                request: RenewalRequest(999), renewed: [],
                rejected: [RejectedLease(queue: q1, epoch: Epoch(1), reason: .staleEpoch)], at: at(8)) == [])
        #expect(book.isValid(q1, at: at(8)) == Epoch(1))
    }

    @Test("every rejection stops its queue with the reason; rejections of other epochs are ignored")
    func rejectionsStop() {
        for reason in LeaseRejection.allCases {
            var book = makeBook()
            _ = book.granted(queue: q1, epoch: Epoch(4), at: at(0))
            let renewal = book.makeRenewal(at: at(1))
            let actions = book.renewalAnswered(
                request: renewal.request,
                renewed: [],
                rejected: [
                    RejectedLease(queue: q1, epoch: Epoch(4), reason: reason),
                    RejectedLease(queue: q2, epoch: Epoch(1), reason: reason),
                ],
                at: at(1.1)
            )
            #expect(actions == [.stopQueue(q1, Epoch(4), .rejected(reason))])
            #expect(book.isValid(q1, at: at(1.1)) == nil)
            #expect(book.makeRenewal(at: at(2)).held == [])
        }
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(4), at: at(0))
        let renewal = book.makeRenewal(at: at(1))
        let stale = RejectedLease(queue: q1, epoch: Epoch(3), reason: .staleEpoch)
        #expect(book.renewalAnswered(request: renewal.request, renewed: [], rejected: [stale], at: at(1.1)) == [])
        #expect(book.isValid(q1, at: at(1.1)) == Epoch(4))
    }

    @Test("a revocation stops and releases as two actions; stale revocations are ignored, repeated ones release again")
    func revocation() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(2), at: at(0))
        #expect(book.revoked(queue: q1, epoch: Epoch(1), at: at(1)) == [])
        #expect(book.isValid(q1, at: at(1)) == Epoch(2))
        #expect(
            book.revoked(queue: q1, epoch: Epoch(2), at: at(1)) == [
                .stopQueue(q1, Epoch(2), .revoked), .release(q1, Epoch(2)),
            ])
        #expect(book.isValid(q1, at: at(1)) == nil)
        // The manager repeats a revocation when the node registers again: answer it again.
        #expect(book.revoked(queue: q1, epoch: Epoch(2), at: at(2)) == [.release(q1, Epoch(2))])
        // A grant of the revoked epoch arriving late is not a new lease.
        #expect(book.granted(queue: q1, epoch: Epoch(2), at: at(3)) == [])
        // A revocation of an epoch not seen yet (its grant is still on the way) releases it.
        #expect(book.revoked(queue: q2, epoch: Epoch(5), at: at(3)) == [.release(q2, Epoch(5))])
        #expect(book.granted(queue: q2, epoch: Epoch(5), at: at(3.1)) == [])
    }

    @Test("tick stops every lease whose validity passed; validity never waits for a tick")
    func tickLapses() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        _ = book.granted(queue: q2, epoch: Epoch(1), at: at(3))
        #expect(book.tick(at: at(7.9)) == [])
        // A process frozen from 1 to 8.5 sees the lapse from the clock before its next tick.
        #expect(book.isValid(q1, at: at(8.5)) == nil)
        #expect(book.validLeases(at: at(8.5)).map(\.queue) == [q2])
        #expect(book.makeRenewal(at: at(8.5)).held == [HeldLease(queue: q2, epoch: Epoch(1))])
        #expect(book.tick(at: at(8.5)) == [.stopQueue(q1, Epoch(1), .lapsed)])
        #expect(book.tick(at: at(9)) == [])
        #expect(book.tick(at: at(11)) == [.stopQueue(q2, Epoch(1), .lapsed)])
    }

    @Test("lapsed leases are reported on rejoin, not renewed; a renewed report starts them again")
    func rejoinReport() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        _ = book.granted(queue: q2, epoch: Epoch(7), at: at(0))
        _ = book.tick(at: at(8))
        #expect(book.makeRenewal(at: at(8)).held == [])
        let report = book.reportOnRejoin(at: at(9))
        #expect(report.held == [HeldLease(queue: q1, epoch: Epoch(1)), HeldLease(queue: q2, epoch: Epoch(7))])
        let actions = book.renewalAnswered(
            request: report.request,
            renewed: [HeldLease(queue: q1, epoch: Epoch(1))],
            rejected: [RejectedLease(queue: q2, epoch: Epoch(7), reason: .staleEpoch)],
            at: at(9.2)
        )
        // q1 was still alive on the manager: it starts again, valid from the report's anchor.
        // q2 had already been stopped: its rejection needs no action, and it is forgotten.
        #expect(actions == [.startQueue(q1, Epoch(1))])
        #expect(book.validLeases(at: at(9.2)) == [ValidLease(queue: q1, epoch: Epoch(1), validUntil: at(17))])
        #expect(book.reportOnRejoin(at: at(10)).held == [HeldLease(queue: q1, epoch: Epoch(1))])
    }

    @Test("a renewal answered after its anchor is too old does not revive a lapsed lease")
    func lateAnswerDoesNotRevive() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        let renewal = book.makeRenewal(at: at(1))
        _ = book.tick(at: at(8))
        #expect(book.renewalAnswered(request: renewal.request, renewed: renewal.held, rejected: [], at: at(9.5)) == [])
        #expect(book.isValid(q1, at: at(9.5)) == nil)
    }

    @Test("an anchored grant counts from the request the manager had seen; a stale anchor releases at once")
    func anchoredGrant() {
        var book = makeBook()
        let renewal = book.makeRenewal(at: at(10))
        // Received 5 s later (a stalled process): believed until 10 + 8, not 15 + 8.
        #expect(
            book.granted(queue: q1, epoch: Epoch(1), anchoredBy: renewal.request, at: at(15)) == [
                .startQueue(q1, Epoch(1))
            ])
        #expect(book.validLeases(at: at(15)) == [ValidLease(queue: q1, epoch: Epoch(1), validUntil: at(18))])
        // Received after the anchor's validity: never started, handed back.
        #expect(
            book.granted(queue: q2, epoch: Epoch(1), anchoredBy: renewal.request, at: at(18)) == [
                .release(q2, Epoch(1))
            ])
        #expect(book.isValid(q2, at: at(18)) == nil)
        #expect(
            book.granted(queue: q2, epoch: Epoch(2), anchoredBy: RenewalRequest(42), at: at(18)) == [
                .release(q2, Epoch(2))
            ])
    }

    @Test("a plain grant read late by a stalled process would be believed too long; an anchored one is not")
    func receiptAnchorNeedsBoundedDelay() {
        // The manager grants at 0 (lease until 10) after the node's request sent at -0.5; the
        // node was stopped and reads the grant at 9.
        var plain = makeBook()
        _ = plain.granted(queue: q1, epoch: Epoch(1), at: at(9))
        #expect(plain.isValid(q1, at: at(12)) == Epoch(1), "receipt anchoring trusts the one-way delay")

        var anchored = makeBook()
        let hello = anchored.makeRenewal(at: at(-0.5))
        _ = anchored.granted(queue: q1, epoch: Epoch(1), anchoredBy: hello.request, at: at(0.1))
        #expect(anchored.isValid(q1, at: at(7.4)) == Epoch(1))
        #expect(anchored.isValid(q1, at: at(7.5)) == nil)
    }

    @Test("drain and shutdown stop and release everything; after shutdown, grants are handed back")
    func drainAndShutdown() {
        var book = makeBook()
        _ = book.granted(queue: q1, epoch: Epoch(1), at: at(0))
        _ = book.granted(queue: q2, epoch: Epoch(2), at: at(5))
        _ = book.tick(at: at(8))  // q1 lapsed
        #expect(
            book.drain(at: at(9)) == [
                .release(q1, Epoch(1)), .stopQueue(q2, Epoch(2), .drained), .release(q2, Epoch(2)),
            ]
        )
        #expect(book.validLeases(at: at(9)) == [])
        #expect(book.granted(queue: q1, epoch: Epoch(3), at: at(10)) == [.startQueue(q1, Epoch(3))])
        #expect(book.shutdown(at: at(11)) == [.stopQueue(q1, Epoch(3), .shutdown), .release(q1, Epoch(3))])
        #expect(book.granted(queue: q1, epoch: Epoch(4), at: at(12)) == [.release(q1, Epoch(4))])
        #expect(book.validLeases(at: at(12)) == [])
    }
}
