import DialerCore

/// What a synthetic agent does, as a value: events from the gateway and its own timers go in,
/// operations to send and timers to set come out. The ``SyntheticAgent`` actor runs it over a
/// real connection; tests run it alone.
///
/// The agent logs in, goes ready, answers preview offers after a drawn delay (accepting or
/// skipping by chance), may hang up after a drawn talk time, writes its disposition for a drawn
/// wrap-up time (extending the wrap-up when it needs longer than the gateway's preset), then
/// goes ready again or pauses for a drawn time.
public struct SyntheticAgentBehaviour: Sendable {
    /// Something the agent asks the gateway to do.
    public enum Operation: Hashable, Sendable {
        case logIn
        case setReady
        case setNotReady(reason: String)
        case answerOffer(request: String, accept: Bool)
        case hangUp(request: String)
        case extendWrapUp(seconds: Int)
        case disposition(attempt: String, name: String)
        case logOut
    }

    /// A timer the agent set; it comes back through ``timerFired(_:)``.
    public struct Timer: Hashable, Sendable {
        public enum Purpose: Hashable, Sendable {
            case answerOffer(request: String)
            case hangUp(request: String)
            case finishWrapUp
            case endPause
            /// Send a refused disposition again (the `try`th time).
            case resendDisposition(attempt: String, name: String, try: Int)
        }

        /// Unique for this agent: a timer made stale by a later event is recognised and ignored.
        public var id: UInt64
        public var purpose: Purpose
    }

    /// What the runner must do, in order.
    public enum Action: Hashable, Sendable {
        case send(Operation)
        case setTimer(Timer, after: Duration)
    }

    /// The agent's state as the gateway last reported it, or as the agent's own last step left it.
    public enum Phase: Hashable, Sendable {
        case loggedOut
        case loggingIn
        /// Ready and waiting for work (the gateway may still be processing the ready).
        case available
        /// Looking at a preview offer.
        case consideringOffer(request: String)
        /// Reserved for a call that is being placed.
        case reserved(request: String)
        case onCall(request: String, attempt: String?)
        /// Writing the disposition of the call of `attempt`.
        case wrappingUp(attempt: String?)
        case paused
    }

    /// The agent's current phase.
    public private(set) var phase: Phase = .loggedOut
    /// Counters of what happened, for reports.
    public private(set) var tally = Tally()

    private let profile: SyntheticAgentProfile
    private var random: SeededGenerator
    private var nextTimer: UInt64 = 0
    private var live: Set<UInt64> = []
    /// The attempt of the last call, kept until its disposition is sent.
    private var lastAttempt: String?
    /// Dispositions being sent again, by attempt: how many times so far.
    private var pendingDisposition: [String: Int] = [:]

    /// What a synthetic agent counted.
    public struct Tally: Hashable, Sendable {
        public var offers = 0
        public var offersAccepted = 0
        public var offersRejected = 0
        public var offersWithdrawn = 0
        public var calls = 0
        public var hangUps = 0
        public var dispositions = 0
        public var pauses = 0
        public var errors = 0
        /// Dispositions sent again because the manager did not have the call's result yet.
        public var dispositionRetries = 0
        /// Dispositions given up after ``SyntheticAgentBehaviour/dispositionTries`` refusals.
        public var dispositionsLost = 0
        /// Times the agent connected again after its connection to the gateway dropped.
        public var reconnections = 0

        /// Two agents' counts added up.
        public static func + (lhs: Tally, rhs: Tally) -> Tally {
            Tally(
                offers: lhs.offers + rhs.offers, offersAccepted: lhs.offersAccepted + rhs.offersAccepted,
                offersRejected: lhs.offersRejected + rhs.offersRejected,
                offersWithdrawn: lhs.offersWithdrawn + rhs.offersWithdrawn, calls: lhs.calls + rhs.calls,
                hangUps: lhs.hangUps + rhs.hangUps, dispositions: lhs.dispositions + rhs.dispositions,
                pauses: lhs.pauses + rhs.pauses, errors: lhs.errors + rhs.errors,
                dispositionRetries: lhs.dispositionRetries + rhs.dispositionRetries,
                dispositionsLost: lhs.dispositionsLost + rhs.dispositionsLost,
                reconnections: lhs.reconnections + rhs.reconnections)
        }
    }

    public init(profile: SyntheticAgentProfile, seed: UInt64) {
        self.profile = profile
        self.random = SeededGenerator(seed: seed)
    }

    /// Starts the day: log in.
    public mutating func start() -> [Action] {
        phase = .loggingIn
        return [.send(.logIn)]
    }

    /// The gateway accepted the login: go ready.
    public mutating func loggedIn() -> [Action] {
        phase = .available
        return [.send(.setReady)]
    }

    /// The connection dropped and a new one is up (the gateway restarted, or the network
    /// failed): log in again. The agent's timers died with the old connection.
    public mutating func reconnected() -> [Action] {
        tally.reconnections += 1
        live = []
        phase = .loggingIn
        return [.send(.logIn)]
    }

    /// The gateway accepted a login after a reconnection, and says where the agent's session
    /// stands: within its grace period the gateway kept it (on a call, in wrap-up ...); a
    /// restarted gateway starts it afresh, not ready. The agent carries on from there.
    public mutating func resumed(state: String, request: String?, wrapUpRemaining: Duration?) -> [Action] {
        switch state {
        case "available":
            phase = .available
            return []
        case "reserved":
            phase = .reserved(request: request ?? "")
            return []
        case "on-call":
            guard let request else { return loggedIn() }
            // The call goes on; the talk time starts again, since its timer died.
            return connected(request: request, attempt: lastAttempt, counting: false)
        case "wrap-up":
            phase = .onCall(request: request ?? "", attempt: lastAttempt)
            return startWrapUp(remaining: wrapUpRemaining)
        default:
            // A fresh session: whatever the agent was doing is gone with the old gateway.
            lastAttempt = nil
            return loggedIn()
        }
    }

    /// A preview offer arrived: answer it after a drawn delay.
    public mutating func offered(request: String) -> [Action] {
        tally.offers += 1
        phase = .consideringOffer(request: request)
        return [timer(.answerOffer(request: request), after: profile.acceptSeconds.sample(&random))]
    }

    /// The gateway withdrew an offer (it timed out or the node cancelled it).
    public mutating func offerWithdrawn(request: String) -> [Action] {
        tally.offersWithdrawn += 1
        if case .consideringOffer(request) = phase { phase = .available }
        return []
    }

    /// The agent is connected to a call; with a talk time, it will hang up after it.
    public mutating func connected(request: String, attempt: String?) -> [Action] {
        connected(request: request, attempt: attempt, counting: true)
    }

    private mutating func connected(request: String, attempt: String?, counting: Bool) -> [Action] {
        if counting { tally.calls += 1 }
        phase = .onCall(request: request, attempt: attempt)
        lastAttempt = attempt
        guard let talk = profile.talkSeconds else { return [] }
        return [timer(.hangUp(request: request), after: talk.sample(&random))]
    }

    /// The gateway pushed the agent's state.
    ///
    /// - Parameters:
    ///   - state: the state's name (`available`, `reserved`, `on-call`, `wrap-up`, `not-ready`,
    ///     `logged-out`).
    ///   - request: the reservation's request, while reserved or on a call.
    ///   - wrapUpRemaining: in wrap-up, the time the gateway's preset leaves.
    public mutating func statusChanged(state: String, request: String?, wrapUpRemaining: Duration?) -> [Action] {
        switch state {
        case "reserved":
            if let request, case .available = phase { phase = .reserved(request: request) }
            return []
        case "available":
            // A reservation returned without a call, or the gateway ended the wrap-up.
            switch phase {
            case .reserved, .consideringOffer, .onCall: phase = .available
            default: break
            }
            return []
        case "wrap-up":
            guard case .onCall = phase else { return [] }
            return startWrapUp(remaining: wrapUpRemaining)
        case "logged-out":
            phase = .loggedOut
            return []
        default:
            return []
        }
    }

    /// One of the agent's timers fired.
    public mutating func timerFired(_ fired: Timer) -> [Action] {
        guard live.remove(fired.id) != nil else { return [] }
        switch fired.purpose {
        case .answerOffer(let request):
            guard case .consideringOffer(request) = phase else { return [] }
            let reject = Double.random(in: 0..<1, using: &random) < profile.rejectProbability
            if reject {
                tally.offersRejected += 1
                phase = .available
            } else {
                tally.offersAccepted += 1
                phase = .reserved(request: request)
            }
            return [.send(.answerOffer(request: request, accept: !reject))]
        case .hangUp(let request):
            guard case .onCall(request, _) = phase else { return [] }
            tally.hangUps += 1
            return [.send(.hangUp(request: request))]
        case .finishWrapUp:
            guard case .wrappingUp(let attempt) = phase else { return [] }
            var actions: [Action] = []
            if let attempt {
                tally.dispositions += 1
                actions.append(.send(.disposition(attempt: attempt, name: profile.pickDisposition(&random))))
            }
            if Double.random(in: 0..<1, using: &random) < profile.pauseProbability {
                tally.pauses += 1
                phase = .paused
                actions.append(.send(.setNotReady(reason: profile.pauseReason)))
                actions.append(timer(.endPause, after: profile.pauseSeconds.sample(&random)))
            } else {
                phase = .available
                actions.append(.send(.setReady))
            }
            return actions
        case .endPause:
            guard case .paused = phase else { return [] }
            phase = .available
            return [.send(.setReady)]
        case .resendDisposition(let attempt, let name, let attemptNumber):
            tally.dispositionRetries += 1
            pendingDisposition[attempt] = attemptNumber
            return [.send(.disposition(attempt: attempt, name: name))]
        }
    }

    /// How many times a disposition is sent before the agent gives up on it.
    public static let dispositionTries = 8

    /// The gateway refused an operation; the agent counts it and carries on.
    ///
    /// A disposition refused in a way that asks for it again (`retryable`: the manager has no
    /// result for the call yet, or did not answer the gateway in time) is sent again after a doubling delay, from 2 s, as
    /// a desktop does: the agent's notes must not be lost to a slow manager.
    public mutating func refused(_ operation: Operation? = nil, retryable: Bool = false) -> [Action] {
        tally.errors += 1
        guard retryable, case .disposition(let attempt, let name) = operation else { return [] }
        let done = pendingDisposition.removeValue(forKey: attempt) ?? 1
        guard done < Self.dispositionTries else {
            tally.dispositionsLost += 1
            return []
        }
        let delay = Duration.seconds(1 << done)
        return [timer(.resendDisposition(attempt: attempt, name: name, try: done + 1), after: delay)]
    }

    /// The gateway accepted an operation.
    public mutating func answered(_ operation: Operation) {
        if case .disposition(let attempt, _) = operation { pendingDisposition[attempt] = nil }
    }

    private mutating func startWrapUp(remaining: Duration?) -> [Action] {
        let writing = profile.wrapUpSeconds.sample(&random)
        phase = .wrappingUp(attempt: lastAttempt)
        lastAttempt = nil
        var actions: [Action] = []
        // Ask for more time before the gateway's preset wrap-up ends, as an agent would.
        if let remaining, writing > remaining {
            let extra = (writing - remaining).components.seconds + 1
            actions.append(.send(.extendWrapUp(seconds: Int(extra))))
        }
        actions.append(timer(.finishWrapUp, after: writing))
        return actions
    }

    private mutating func timer(_ purpose: Timer.Purpose, after delay: Duration) -> Action {
        nextTimer += 1
        live.insert(nextTimer)
        return .setTimer(Timer(id: nextTimer, purpose: purpose), after: delay)
    }
}
