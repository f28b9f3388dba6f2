/// The timer values of RFC 3261 §17 (table 4).
public struct SIPTimers: Hashable, Sendable {
    /// Round-trip estimate: the first retransmission interval.
    public var t1: Duration
    /// The longest retransmission interval for non-INVITE requests and INVITE responses.
    public var t2: Duration
    /// How long a message may stay in the network.
    public var t4: Duration

    public init(t1: Duration = .milliseconds(500), t2: Duration = .seconds(4), t4: Duration = .seconds(5)) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
    }

    /// 64·T1: timers B, F, H and J.
    public var transactionTimeout: Duration { t1 * 64 }
}

/// The timers of RFC 3261 §17, by letter.
public enum SIPTimer: String, Hashable, Sendable, CaseIterable {
    /// INVITE client: retransmit the INVITE.
    case a = "A"
    /// INVITE client: give up.
    case b = "B"
    /// INVITE client: leave Completed (absorb retransmitted final responses).
    case d = "D"
    /// Non-INVITE client: retransmit the request.
    case e = "E"
    /// Non-INVITE client: give up.
    case f = "F"
    /// INVITE server: retransmit the final response.
    case g = "G"
    /// INVITE server: give up waiting for the ACK.
    case h = "H"
    /// INVITE server: leave Confirmed (absorb retransmitted ACKs).
    case i = "I"
    /// Non-INVITE server: leave Completed (absorb retransmitted requests).
    case j = "J"
    /// Non-INVITE client: leave Completed (absorb retransmitted responses).
    case k = "K"
}

/// What a transaction asks its shell to do, in order.
public enum SIPTransactionAction: Hashable, Sendable {
    /// Send this message to the transaction's peer. `retransmission` tells metrics apart.
    case send(SIPMessage, retransmission: Bool)
    /// (Re)start `timer` to fire after the duration.
    case startTimer(SIPTimer, Duration)
    /// Stop `timer` if it runs.
    case cancelTimer(SIPTimer)
    /// Client: a response for the transaction user (the first of each final, every provisional).
    case deliver(SIPResponse)
    /// Server: the ACK that ends an INVITE answered 2xx, for the transaction user's dialog.
    case deliverRequest(SIPRequest)
    /// The transaction timed out (B, F, H): the transaction user treats it as 408 / no ACK.
    case timedOut(SIPTimer)
    /// The transaction is over; the shell forgets it and its timers.
    case terminated
}

/// A client transaction (RFC 3261 §17.1): INVITE (timers A, B, D) or non-INVITE (E, F, K).
///
/// A value: events in, actions out. Over a reliable transport (TCP) nothing is retransmitted
/// and the absorbing timers D and K are zero.
public struct SIPClientTransaction: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        case calling
        case trying
        case proceeding
        case completed
        case terminated
    }

    public let request: SIPRequest
    public let isInvite: Bool
    public let reliable: Bool
    public let timers: SIPTimers
    public private(set) var state: State
    /// The current retransmission interval (A or E).
    public private(set) var interval: Duration
    /// The ACK this transaction sends for a non-2xx final response to an INVITE.
    public private(set) var ack: SIPRequest?

    public init(request: SIPRequest, reliable: Bool, timers: SIPTimers = SIPTimers()) {
        self.request = request
        self.isInvite = request.method == "INVITE"
        self.reliable = reliable
        self.timers = timers
        self.state = isInvite ? .calling : .trying
        self.interval = timers.t1
    }

    /// The request's branch: the transaction's key with the method.
    public var branch: String? { request.headers.vias.first?.branch }

    /// Sends the request and starts the timers.
    public mutating func start() -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = [.send(.request(request), retransmission: false)]
        if isInvite {
            if !reliable { actions.append(.startTimer(.a, interval)) }
            actions.append(.startTimer(.b, timers.transactionTimeout))
        } else {
            if !reliable { actions.append(.startTimer(.e, interval)) }
            actions.append(.startTimer(.f, timers.transactionTimeout))
        }
        return actions
    }

    /// A response matched this transaction.
    public mutating func receive(_ response: SIPResponse) -> [SIPTransactionAction] {
        switch (state, isInvite) {
        case (.calling, true), (.proceeding, true):
            if response.isProvisional {
                let wasCalling = state == .calling
                state = .proceeding
                return (wasCalling ? [.cancelTimer(.a)] : []) + [.deliver(response)]
            }
            if response.isSuccess {
                // The transaction user ACKs a 2xx itself, in the dialog (RFC 3261 §13.2.2.4).
                state = .terminated
                return [.cancelTimer(.a), .cancelTimer(.b), .deliver(response), .terminated]
            }
            state = .completed
            let ack = Self.ack(for: request, response: response)
            self.ack = ack
            return [
                .cancelTimer(.a), .cancelTimer(.b), .send(.request(ack), retransmission: false), .deliver(response),
                .startTimer(.d, reliable ? .zero : .seconds(32)),
            ]
        case (.completed, true):
            // A retransmitted final response: our ACK was lost.
            if !response.isProvisional, !response.isSuccess, let ack {
                return [.send(.request(ack), retransmission: true)]
            }
            return []
        case (.trying, false), (.proceeding, false):
            if response.isProvisional {
                state = .proceeding
                return [.deliver(response)]
            }
            state = .completed
            return [
                .cancelTimer(.e), .cancelTimer(.f), .deliver(response),
                .startTimer(.k, reliable ? .zero : timers.t4),
            ]
        default:
            return []
        }
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: SIPTimer) -> [SIPTransactionAction] {
        switch (state, timer) {
        case (.calling, .a):
            interval = interval * 2
            return [.send(.request(request), retransmission: true), .startTimer(.a, interval)]
        case (.calling, .b), (.proceeding, .b):
            state = .terminated
            return [.cancelTimer(.a), .timedOut(.b), .terminated]
        case (.completed, .d), (.completed, .k):
            state = .terminated
            return [.terminated]
        case (.trying, .e), (.proceeding, .e):
            // Trying doubles up to T2; Proceeding retransmits every T2 (RFC 3261 §17.1.2.2).
            interval = state == .trying ? Swift.min(interval * 2, timers.t2) : timers.t2
            return [.send(.request(request), retransmission: true), .startTimer(.e, interval)]
        case (.trying, .f), (.proceeding, .f):
            state = .terminated
            return [.cancelTimer(.e), .timedOut(.f), .terminated]
        default:
            return []
        }
    }

    /// The transport failed: like a timeout, at once (RFC 3261 §17.1.1.2).
    public mutating func transportFailed() -> [SIPTransactionAction] {
        guard state != .terminated, state != .completed else { return [] }
        state = .terminated
        return [
            .cancelTimer(.a), .cancelTimer(.b), .cancelTimer(.e), .cancelTimer(.f), .timedOut(isInvite ? .b : .f),
            .terminated,
        ]
    }

    /// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch, Request-URI,
    /// Call-ID, From, Route, CSeq number; To from the response.
    public static func ack(for invite: SIPRequest, response: SIPResponse) -> SIPRequest {
        var headers = SIPHeaders()
        if let via = invite.headers.values("Via").first { headers.add("Via", via) }
        for name in ["Route"] { for value in invite.headers.values(name) { headers.add(name, value) } }
        headers.add("Max-Forwards", "70")
        if let from = invite.headers["From"] { headers.add("From", from) }
        if let to = response.headers["To"] { headers.add("To", to) }
        if let callID = invite.headers.callID { headers.add("Call-ID", callID) }
        headers.add("CSeq", "\(invite.headers.cseq?.number ?? 1) ACK")
        return SIPRequest(method: "ACK", uri: invite.uri, headers: headers)
    }
}

/// A server transaction (RFC 3261 §17.2, with RFC 6026's Accepted state for 2xx):
/// INVITE (timers G, H, I) or non-INVITE (J).
public struct SIPServerTransaction: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        case trying
        case proceeding
        /// INVITE answered 2xx: retransmit it until the ACK (RFC 6026).
        case accepted
        case completed
        case confirmed
        case terminated
    }

    public let request: SIPRequest
    public let isInvite: Bool
    public let reliable: Bool
    public let timers: SIPTimers
    public private(set) var state: State
    public private(set) var lastResponse: SIPResponse?
    public private(set) var interval: Duration

    public init(request: SIPRequest, reliable: Bool, timers: SIPTimers = SIPTimers()) {
        self.request = request
        self.isInvite = request.method == "INVITE"
        self.reliable = reliable
        self.timers = timers
        self.state = isInvite ? .proceeding : .trying
        self.interval = timers.t1
    }

    /// The transaction user sends a response.
    public mutating func respond(_ response: SIPResponse) -> [SIPTransactionAction] {
        switch state {
        case .trying, .proceeding:
            lastResponse = response
            if response.isProvisional {
                state = .proceeding
                return [.send(.response(response), retransmission: false)]
            }
            if isInvite {
                interval = timers.t1
                state = response.isSuccess ? .accepted : .completed
                var actions: [SIPTransactionAction] = [.send(.response(response), retransmission: false)]
                // A 2xx is retransmitted over UDP by the core until the ACK; G serves both.
                if !reliable { actions.append(.startTimer(.g, interval)) }
                actions.append(.startTimer(.h, timers.transactionTimeout))
                return actions
            }
            state = .completed
            return [
                .send(.response(response), retransmission: false),
                .startTimer(.j, reliable ? .zero : timers.transactionTimeout),
            ]
        default:
            return []
        }
    }

    /// The same request arrived again (a retransmission), or an ACK for an INVITE.
    public mutating func receive(_ request: SIPRequest) -> [SIPTransactionAction] {
        if request.method == "ACK" {
            switch state {
            case .completed:
                state = .confirmed
                return [.cancelTimer(.g), .cancelTimer(.h), .startTimer(.i, reliable ? .zero : timers.t4)]
            case .accepted:
                state = .terminated
                return [.cancelTimer(.g), .cancelTimer(.h), .deliverRequest(request), .terminated]
            default:
                return []
            }
        }
        switch state {
        case .proceeding, .completed, .accepted:
            if let lastResponse { return [.send(.response(lastResponse), retransmission: true)] }
            return []
        default:
            return []
        }
    }

    public mutating func timerFired(_ timer: SIPTimer) -> [SIPTransactionAction] {
        switch (state, timer) {
        case (.completed, .g), (.accepted, .g):
            interval = Swift.min(interval * 2, timers.t2)
            guard let lastResponse else { return [] }
            return [.send(.response(lastResponse), retransmission: true), .startTimer(.g, interval)]
        case (.completed, .h), (.accepted, .h):
            state = .terminated
            return [.cancelTimer(.g), .timedOut(.h), .terminated]
        case (.confirmed, .i), (.completed, .j):
            state = .terminated
            return [.terminated]
        default:
            return []
        }
    }
}
