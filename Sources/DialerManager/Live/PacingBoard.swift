import DialerCore
import DialerProtocol

/// The latest pacing report of each queue, as its node sent it (`PacingReport`), for the live
/// panel. The panel shows a report only while its sender still owns the queue under the report's
/// epoch, and only while it is recent: nodes send one at least every five seconds.
public actor PacingBoard {
    /// One queue's report, with who sent it and when it arrived (manager's clock).
    struct Entry: Sendable, Equatable {
        var node: String
        var epoch: UInt64
        var report: Dialer_V1_PacingReport
        var receivedAt: Moment
    }

    /// Reports older than this are not shown (a node sends one at least every five seconds).
    static let freshFor: Duration = .seconds(15)

    private var entries: [String: Entry] = [:]
    private let clock: any DialerClock

    init(clock: any DialerClock) {
        self.clock = clock
    }

    /// Keeps `report` as `node`'s latest about its queue. An unreadable report (no queue, a dial
    /// level that is not a finite number from 0 to a million) is dropped.
    func received(_ report: Dialer_V1_PacingReport, from node: String) {
        let queue = report.lease.queue
        guard !queue.isEmpty, queue.utf8.count <= 256, report.reason.utf8.count <= 64,
            report.dialLevel.isFinite, (0...1_000_000).contains(report.dialLevel)
        else { return }
        entries[queue] = Entry(node: node, epoch: report.lease.epoch, report: report, receivedAt: clock.now())
    }

    /// The reports to show: per queue, the latest one whose sender owns the queue under its epoch
    /// in `queues` (id → owner and epoch), received in the last ``freshFor``.
    func current(owners queues: [String: (owner: String?, epoch: UInt64)]) -> [String: Entry] {
        let now = clock.now()
        entries = entries.filter { now - $0.value.receivedAt < Self.freshFor * 4 }
        return entries.filter { queue, entry in
            guard let lease = queues[queue], lease.owner == entry.node, lease.epoch == entry.epoch else { return false }
            return now - entry.receivedAt < Self.freshFor
        }
    }
}
