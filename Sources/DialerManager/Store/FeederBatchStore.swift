public import DialerCore
public import FoundationEssentials

/// One write of the feeder, applied with others in one transaction (see ``FeederBatchStore``).
public enum FeederOperation: Sendable, Hashable {
    /// A node's result for an attempt it was handed under `epoch`.
    case report(AttemptResult, node: MemberID, epoch: Epoch)
    /// Up to `count` contacts of the campaign for `node`, as
    /// ``ManagerStore/checkOutAttempts(campaign:count:node:epoch:now:presentAgents:)`` hands them out.
    case checkOut(campaign: CampaignID, count: Int, node: MemberID, epoch: Epoch, presentAgents: Set<AgentID>)
}

/// What became of a node's report.
public enum ReportOutcome: Sendable, Hashable {
    /// Recorded; the contact as it now is.
    case applied(Contact)
    /// The attempt already had its result (an earlier copy of the report): nothing changed.
    case duplicate
    /// No attempt with this id was handed out.
    case notHandedOut
    /// The attempt was handed to another node, or under another epoch.
    case heldElsewhere
    /// The attempt was closed as `unknown` when its node was lost and the report has a real
    /// outcome: the contact's retry is scheduled already, so nothing changed.
    case closedAsUnknown
    /// The attempt is not for the contact the report names.
    case contactMismatch

    /// The rule for a report of `reported` on an attempt as the store holds it, before it is
    /// applied; `nil` when it may be applied.
    public static func refusal(holder: AttemptHolder?, node: MemberID, epoch: Epoch, reported: AttemptOutcome)
        -> ReportOutcome?
    {
        guard let holder else { return .notHandedOut }
        guard holder.node == node, holder.epoch == epoch else { return .heldElsewhere }
        if holder.outcome == .unknown, reported != .unknown { return .closedAsUnknown }
        return nil
    }
}

/// What one ``FeederOperation`` came to.
public enum FeederOperationOutcome: Sendable, Hashable {
    /// What became of a ``FeederOperation/report(_:node:epoch:)``.
    case report(ReportOutcome)
    /// The attempts a ``FeederOperation/checkOut(campaign:count:node:epoch:presentAgents:)``
    /// handed out, best first (none when nothing is dialable).
    case checkOut([AttemptHandOut])
}

/// The feeder's writes in batches: many reports and hand-outs in one transaction.
public protocol FeederBatchStore: Sendable {
    /// Applies `operations` in order, in one transaction, all at `now`, and returns one result
    /// per operation, in the same order.
    ///
    /// An operation that fails on its own (a missing campaign, a contact changed under the
    /// feeder) is undone alone and its failure returned in its place; the others stay in the
    /// batch. When the batch as a whole fails (the transaction cannot commit), nothing of it
    /// is applied and the error is thrown: a caller acknowledges an operation only after this
    /// returns.
    func applyFeederBatch(_ operations: [FeederOperation], now: Date) async throws
        -> [Result<FeederOperationOutcome, any Error>]
}
