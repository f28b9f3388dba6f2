public import DialerCore
public import DialerProtocol

// Conversions between wire messages and the core's domain values, in one place so that
// every process reads and writes them the same way.

extension Dialer_V1_QueueLease {
    /// The wire form of a held lease.
    public init(_ lease: HeldLease) {
        self.init()
        queue = lease.queue.rawValue
        epoch = lease.epoch.rawValue
    }

    /// The domain form.
    public var held: HeldLease { HeldLease(queue: QueueID(queue), epoch: Epoch(epoch)) }
}

extension Dialer_V1_LeaseRejection {
    public init(_ rejection: LeaseRejection) {
        switch rejection {
        case .staleEpoch: self = .leaseStaleEpoch
        case .expired: self = .leaseExpired
        case .unknownQueue: self = .leaseUnknownQueue
        case .notMember: self = .leaseStaleEpoch
        }
    }

    public var domain: LeaseRejection {
        switch self {
        case .leaseExpired: return .expired
        case .leaseUnknownQueue: return .unknownQueue
        default: return .staleEpoch
        }
    }
}

extension Dialer_V1_LeaseRenewed {
    public init(renewed: [HeldLease], rejected: [DialerCore.RejectedLease], leaseDuration: Duration) {
        self.init()
        self.renewed = renewed.map(Dialer_V1_QueueLease.init)
        self.rejected = rejected.map { rejection in
            var wire = Dialer_V1_RejectedLease()
            wire.queue = rejection.queue.rawValue
            wire.epoch = rejection.epoch.rawValue
            wire.reason = Dialer_V1_LeaseRejection(rejection.reason)
            return wire
        }
        leaseDurationMs = UInt32(clamping: leaseDuration.totalMilliseconds)
    }

    public var domainRenewed: [HeldLease] { renewed.map(\.held) }

    public var domainRejected: [DialerCore.RejectedLease] {
        rejected.map {
            DialerCore.RejectedLease(queue: QueueID($0.queue), epoch: Epoch($0.epoch), reason: $0.reason.domain)
        }
    }
}

extension Dialer_V1_RevokeReason {
    public init(_ reason: HandoffReason) {
        switch reason {
        case .drain: self = .revokeDrain
        case .rebalance: self = .revokeRebalance
        case .removed: self = .revokeRemoved
        }
    }
}

extension Duration {
    /// Milliseconds as sent on the wire.
    public static func wireMilliseconds(_ value: UInt32) -> Duration { .milliseconds(Int64(value)) }
}
