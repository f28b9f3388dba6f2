public import DialerCore

/// Decides when a lost node's open attempts are closed as `unknown`: a value, events in and
/// sweeps out, held by the ``ClusterCoordinator`` and performed (against the store) outside it.
///
/// A node is swept when all of these hold:
/// - it is not connected;
/// - it holds no lease on the manager's clock (while it may still hold one, it may still be
///   dialing, and it will report what it dials when it comes back);
/// - it announced `Leaving` on its last connection, or it has been away for one grace period
///   (the lease period): a node that drops its connection for a moment and comes back reports
///   its calls itself.
///
/// A restarted manager does not know which nodes are connected to it yet: every node with open
/// attempts in the store counts as away since the restart, so one that does not come back within
/// the grace period is swept.
///
/// Each sweep carries the moment the node was lost: only attempts handed out until then are
/// closed, so an attempt handed to a newer connection of the same node is never touched.
public struct LostNodeSweep: Sendable {
    /// A node whose attempts must be closed now.
    public struct Sweep: Hashable, Sendable {
        public var node: MemberID
        /// When the node was lost: attempts handed out after it are not the lost node's.
        public var lostAt: Moment
    }

    private enum Presence: Hashable {
        case connected
        case away(since: Moment, leaving: Bool)
        case sweeping(since: Moment, leaving: Bool)
    }

    /// How long a node that did not announce its departure is given to come back.
    public let grace: Duration
    private var nodes: [MemberID: Presence] = [:]
    private var leavingAnnounced: Set<MemberID> = []

    public init(grace: Duration) {
        self.grace = grace
    }

    /// The node registered on a new connection.
    public mutating func connected(_ node: MemberID) {
        nodes[node] = .connected
        leavingAnnounced.remove(node)
    }

    /// The node announced that it shuts down (its connection closes soon after).
    public mutating func leaving(_ node: MemberID) {
        leavingAnnounced.insert(node)
    }

    /// The node's registered connection closed at `now`.
    public mutating func disconnected(_ node: MemberID, at now: Moment) {
        guard nodes[node] == .connected else { return }
        nodes[node] = .away(since: now, leaving: leavingAnnounced.remove(node) != nil)
    }

    /// A restarted manager found open attempts of `openHolders` in its store at `now`: those not
    /// connected since count as away since then.
    public mutating func restarted(openHolders: some Sequence<MemberID>, at now: Moment) {
        for node in openHolders where nodes[node] == nil {
            nodes[node] = .away(since: now, leaving: false)
        }
    }

    /// The sweeps due at `now`, given the nodes that hold an unexpired lease on the manager's
    /// clock. Each is returned once, until ``swept(_:succeeded:)`` reports it.
    public mutating func due(at now: Moment, leaseHolders: Set<MemberID>) -> [Sweep] {
        var sweeps: [Sweep] = []
        for (node, presence) in nodes {
            guard case .away(let since, let leaving) = presence, !leaseHolders.contains(node),
                leaving || now - since >= grace
            else { continue }
            nodes[node] = .sweeping(since: since, leaving: leaving)
            sweeps.append(Sweep(node: node, lostAt: since))
        }
        return sweeps.sorted { $0.node < $1.node }
    }

    /// The sweep of `node` ended: done, or failed and due again at the next ``due(at:leaseHolders:)``.
    /// A node that came back meanwhile stays connected.
    public mutating func swept(_ node: MemberID, succeeded: Bool) {
        guard case .sweeping(let since, let leaving) = nodes[node] else { return }
        nodes[node] = succeeded ? nil : .away(since: since, leaving: leaving)
    }

    /// Nodes away or being swept, for views and tests.
    public var awayNodes: Set<MemberID> {
        Set(nodes.compactMap { $0.value == .connected ? nil : $0.key })
    }
}
