/// The term of a manager lease: it grows by one each time a manager takes the lease over.
///
/// A write of the queue-lease journal carries the term it was made under, and the store
/// refuses it once another manager has taken the lease (a higher term): a deposed manager can
/// issue no grant.
public struct ManagerTerm: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(rawValue)" }
}

/// Whether this manager is the active one: a pure state machine for the manager lease held in
/// the shared database.
///
/// The active manager renews the lease every ``renewInterval``; it believes it holds the lease
/// until `start + duration - margin`, where `start` is the moment, on its own clock, at which
/// the last successful write *began*. The store sets the expiry from its own reading of the
/// time inside that write, so the database's expiry is never earlier than this manager's
/// belief plus the margin: the manager stops serving before any standby may take over. A
/// standby tries to take the lease every ``retryInterval``; the store grants it only once the
/// previous holder's lease has expired.
///
/// Events in, actions out; it never reads a clock.
public struct ManagerLeaseMachine: Sendable {
    /// What the shell does, in the order given.
    public enum Action: Hashable, Sendable {
        /// Ask the store for the lease (granted only when it is free or expired).
        case tryAcquire
        /// Renew the lease held under `term`.
        case renew(ManagerTerm)
        /// Become the active manager under `term`: load the queue-lease journal, serve the
        /// cluster port, start the feeder.
        case startServing(ManagerTerm)
        /// Stop at once: grant nothing, close every cluster connection, stop the feeder.
        case stopServing
    }

    /// Where this manager stands.
    public enum Role: Hashable, Sendable {
        case standby
        case active(ManagerTerm)
    }

    private enum State: Hashable, Sendable {
        case standby(nextAttempt: Moment, acquiring: Bool)
        case active(term: ManagerTerm, validUntil: Moment, nextRenewal: Moment, renewing: Bool)
        case stopped
    }

    public let duration: Duration
    public let margin: Duration
    public let renewInterval: Duration
    public let retryInterval: Duration
    private var state: State

    /// - Parameters:
    ///   - duration: how long the store keeps the lease without a renewal.
    ///   - margin: how much earlier than the store this manager considers its lease over
    ///     (covers the time a write takes to reach the store and clock-rate differences).
    ///   - renewInterval: how often the active manager renews; well below `duration - margin`.
    ///   - retryInterval: how often a standby tries to take the lease.
    public init(
        duration: Duration, margin: Duration, renewInterval: Duration, retryInterval: Duration, at now: Moment
    ) {
        precondition(margin < duration && renewInterval < duration - margin, "the lease cannot be kept")
        self.duration = duration
        self.margin = margin
        self.renewInterval = renewInterval
        self.retryInterval = retryInterval
        self.state = .standby(nextAttempt: now, acquiring: false)
    }

    /// The lease timings derived from its duration: renewal every third, a fifth as margin, and
    /// a standby's attempt every fifth.
    public init(duration: Duration, at now: Moment) {
        self.init(
            duration: duration, margin: duration / 5, renewInterval: duration / 3, retryInterval: duration / 5,
            at: now)
    }

    public var role: Role {
        if case .active(let term, _, _, _) = state { return .active(term) }
        return .standby
    }

    /// The next moment at which ``tick(at:)`` has something to do.
    public var nextDeadline: Moment? {
        switch state {
        case .standby(let next, let acquiring): acquiring ? nil : next
        case .active(_, let validUntil, let nextRenewal, let renewing):
            renewing ? validUntil : min(validUntil, nextRenewal)
        case .stopped: nil
        }
    }

    /// Time passes: renew, try to acquire, or stop serving when the lease ran out unrenewed.
    public mutating func tick(at now: Moment) -> [Action] {
        switch state {
        case .standby(let next, let acquiring):
            guard !acquiring, now >= next else { return [] }
            state = .standby(nextAttempt: next, acquiring: true)
            return [.tryAcquire]
        case .active(let term, let validUntil, let nextRenewal, let renewing):
            if now >= validUntil {
                state = .standby(nextAttempt: now + retryInterval, acquiring: false)
                return [.stopServing]
            }
            guard !renewing, now >= nextRenewal else { return [] }
            state = .active(term: term, validUntil: validUntil, nextRenewal: nextRenewal, renewing: true)
            return [.renew(term)]
        case .stopped:
            return []
        }
    }

    /// The store granted the lease under `term`, to a write that began at `started`.
    public mutating func acquired(_ term: ManagerTerm, startedAt started: Moment, now: Moment) -> [Action] {
        guard case .standby = state else { return [] }
        let validUntil = started + duration - margin
        guard now < validUntil else {
            // The answer came too late to be trusted; the lease lapses and is taken again.
            state = .standby(nextAttempt: now, acquiring: false)
            return []
        }
        state = .active(term: term, validUntil: validUntil, nextRenewal: started + renewInterval, renewing: false)
        return [.startServing(term)]
    }

    /// The store did not grant the lease (another manager holds it, or the store failed).
    public mutating func acquireFailed(at now: Moment) -> [Action] {
        guard case .standby = state else { return [] }
        state = .standby(nextAttempt: now + retryInterval, acquiring: false)
        return []
    }

    /// The store renewed the lease under `term`, in a write that began at `started`.
    public mutating func renewed(_ term: ManagerTerm, startedAt started: Moment, now: Moment) -> [Action] {
        guard case .active(let current, let validUntil, _, _) = state, current == term else { return [] }
        let extended = max(validUntil, started + duration - margin)
        state = .active(term: term, validUntil: extended, nextRenewal: started + renewInterval, renewing: false)
        return now >= extended ? tick(at: now) : []
    }

    /// The renewal did not reach the store (an error): the lease still runs until its end, and
    /// the next renewal is tried soon.
    public mutating func renewalFailed(at now: Moment) -> [Action] {
        guard case .active(let term, let validUntil, _, _) = state else { return [] }
        state = .active(
            term: term, validUntil: validUntil, nextRenewal: now + min(renewInterval, retryInterval), renewing: false)
        return now >= validUntil ? tick(at: now) : []
    }

    /// The store says another manager holds the lease (a higher term): stop at once.
    public mutating func lost(at now: Moment) -> [Action] {
        guard case .active = state else {
            if case .standby = state { state = .standby(nextAttempt: now + retryInterval, acquiring: false) }
            return []
        }
        state = .standby(nextAttempt: now + retryInterval, acquiring: false)
        return [.stopServing]
    }

    /// The process shuts down: stop serving (if active) and never try again.
    public mutating func shutDown() -> [Action] {
        defer { state = .stopped }
        if case .active = state { return [.stopServing] }
        return []
    }
}
