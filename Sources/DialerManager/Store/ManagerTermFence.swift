public import DialerCore
import GRDB
import Synchronization

/// The term under which this manager process writes the feeder's changes, for the store to
/// check inside each transaction (the triggers of migration v15, in SQLite and in PostgreSQL,
/// compare it with the manager lease's term and abort a write under another).
///
/// It is set when the manager becomes active and left as it was when the manager loses the
/// lease, so that a write still in flight from the lost term is refused.
public final class ManagerTermFence: Sendable {
    /// No fence: `dialer_manager_term()` is NULL and every write passes (a manager without
    /// standbys, tools, tests).
    static let none = ManagerTermFence(enforced: false)

    private let enforced: Bool
    /// 0 until the first activation: a standby that never was active writes nothing fenced
    /// (every term is at least 1, so 0 never matches).
    private let term = Atomic<UInt64>(0)

    public convenience init() {
        self.init(enforced: true)
    }

    private init(enforced: Bool) {
        self.enforced = enforced
    }

    /// This manager is active under `term` from now on.
    public func activate(_ term: ManagerTerm) {
        self.term.store(term.rawValue, ordering: .sequentiallyConsistent)
    }

    /// The term writes are checked against, `nil` without a fence (PostgreSQL: the value of
    /// `dialer.manager_term` for each write transaction).
    var fencedTerm: UInt64? {
        enforced ? term.load(ordering: .sequentiallyConsistent) : nil
    }

    /// `dialer_manager_term()`: the term, or NULL without a fence.
    var function: DatabaseFunction {
        DatabaseFunction("dialer_manager_term", argumentCount: 0, pure: false) { [self] _ in
            guard enforced else { return nil }
            return Int64(clamping: term.load(ordering: .sequentiallyConsistent))
        }
    }
}
