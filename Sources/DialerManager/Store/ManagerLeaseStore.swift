public import DialerCore
public import FoundationEssentials

/// The lease that makes one of several managers sharing a database the active one, and the
/// queue-lease journal that the active one writes under it.
///
/// The store decides with its own reading of the time (SQLite: the process's wall clock;
/// PostgreSQL: the server's), so that two managers never compare two clocks.
public protocol ManagerLeaseStore: Sendable {
    /// Takes the lease for `holder` for `duration` if nobody holds it or the holder's lease has
    /// expired; the term is then one more than the last. Returns how it went.
    func acquire(holder: String, duration: Duration) async throws -> ManagerLeaseAttempt
    /// Extends the lease held by `holder` under `term` to `duration` from now; `false` when
    /// another manager has taken it since (a higher term).
    func renew(holder: String, term: ManagerTerm, duration: Duration) async throws -> Bool
    /// Ends the lease now if `holder` still holds it under `term`, so that a standby need not
    /// wait for it to expire (a graceful shutdown).
    func release(holder: String, term: ManagerTerm) async throws
    /// The lease as it stands, `nil` before any manager took it.
    func currentLease() async throws -> ManagerLeaseRecord?
    /// The last queue-lease grant of each queue.
    func journaledGrants() async throws -> [QueueID: LeaseTable.LastGrant]
    /// Records `grants` (all last grants), only while `holder` holds the lease under `term`.
    ///
    /// - Throws: ``StaleManagerTerm`` when another manager has taken the lease: the grants
    ///   must not be sent.
    func journal(_ grants: [QueueID: LeaseTable.LastGrant], holder: String, term: ManagerTerm) async throws
}

/// The answer to ``ManagerLeaseStore/acquire(holder:duration:)``.
public enum ManagerLeaseAttempt: Hashable, Sendable {
    /// This manager holds the lease under the term.
    case acquired(ManagerTerm)
    /// Another manager holds it until `expiresAt` (on the store's clock).
    case heldBy(String, term: ManagerTerm, expiresAt: Date)
}

/// The manager lease's row.
public struct ManagerLeaseRecord: Hashable, Sendable {
    public var holder: String
    public var term: ManagerTerm
    public var expiresAt: Date
}

/// A write refused because its manager no longer holds the lease under its term.
public struct StaleManagerTerm: Error, CustomStringConvertible {
    public var holder: String
    public var term: ManagerTerm
    public var current: ManagerLeaseRecord?

    public var description: String {
        let now = current.map { "the lease is held by \($0.holder) under term \($0.term)" } ?? "there is no lease"
        return "\(holder) wrote under term \(term), but \(now)"
    }
}
