import Synchronization

/// What `/readyz` reports: the process is ready when every registered condition holds.
///
/// Conditions are named (e.g. "manager-connection", "cluster-listener") so that a probe's
/// answer says what is missing.
public final class Readiness: Sendable {
    private let conditions = Mutex<[String: Bool]>([:])

    public init(conditions names: [String] = []) {
        conditions.withLock { conditions in
            for name in names { conditions[name] = false }
        }
    }

    /// Sets one condition.
    public func set(_ name: String, _ holds: Bool) {
        conditions.withLock { $0[name] = holds }
    }

    /// The names of the conditions that do not hold, sorted; empty when ready.
    public var missing: [String] {
        conditions.withLock { $0.filter { !$0.value }.map(\.key).sorted() }
    }

    public var isReady: Bool { missing.isEmpty }
}
