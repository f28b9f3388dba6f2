public import DialerConfig
public import DialerProtocol

/// The protocol versions this build speaks (PROTOCOL.md §8).
///
/// Version 1 is frozen as released. Version 2 adds `AttemptResultBatch` and its answer: a
/// node's results in one frame and one acknowledgement. A connection speaks the highest version
/// both sides offer, and carries only the message kinds of that version.
public enum ProtocolVersion {
    /// The highest version this build speaks.
    public static let current: UInt32 = 2
    /// Every version this build speaks.
    public static let supported: ClosedRange<UInt32> = 1...2
    /// The first version with `AttemptResultBatch`.
    public static let attemptResultBatches: UInt32 = 2

    /// The versions a process offers and accepts when an operator caps them at `maximum`
    /// (`cluster.protocol_version_max`); `nil` when `maximum` is not a version this build speaks
    /// (the configuration checks the range first).
    public static func supported(upTo maximum: UInt32?) -> ClosedRange<UInt32>? {
        guard let maximum else { return supported }
        guard supported.contains(maximum) else { return nil }
        return supported.lowerBound...maximum
    }

    /// The version that introduced `message`'s kind: a connection of an older version must not
    /// carry it (a peer of that version would not know it).
    public static func introducing(_ message: Envelope.OneOf_Message) -> UInt32 {
        switch message {
        case .attemptResultBatch, .attemptResultBatchAck: attemptResultBatches
        default: 1
        }
    }
}

extension ClusterSettings {
    /// The protocol versions this process offers and accepts: every version this build speaks,
    /// up to `cluster.protocol_version_max` when an operator pinned it.
    ///
    /// - Throws: ``ProtocolVersionPinError`` when the pin is not a version this build speaks (the
    ///   configuration's own check makes that a startup error naming the key before this).
    public func offeredProtocolVersions() throws(ProtocolVersionPinError) -> ClosedRange<UInt32> {
        guard let pin = protocolVersionMax else { return ProtocolVersion.supported }
        guard let wire = UInt32(exactly: pin), let range = ProtocolVersion.supported(upTo: wire) else {
            throw ProtocolVersionPinError(pin: pin)
        }
        return range
    }
}

/// `cluster.protocol_version_max` names a version this build does not speak.
public struct ProtocolVersionPinError: Error, Hashable, Sendable, CustomStringConvertible {
    public var pin: Int

    public init(pin: Int) {
        self.pin = pin
    }

    public var description: String {
        "cluster.protocol_version_max must be \(ProtocolVersion.supported.lowerBound) to "
            + "\(ProtocolVersion.supported.upperBound) (the versions this build speaks), got \(pin)"
    }
}

/// Who is at the other end of an established connection, as proven by the handshake.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var role: Dialer_V1_Role
    public var memberID: String
    /// The version the handshake chose: the connection carries only this version's messages.
    public var protocolVersion: UInt32

    public init(role: Dialer_V1_Role, memberID: String, protocolVersion: UInt32) {
        self.role = role
        self.memberID = memberID
        self.protocolVersion = protocolVersion
    }

    public var description: String { "\(role.label)/\(memberID)" }

    /// Whether the connection's version has `message`'s kind.
    public func speaks(_ message: Envelope.OneOf_Message) -> Bool {
        protocolVersion >= ProtocolVersion.introducing(message)
    }
}

extension Dialer_V1_Role {
    /// The role's name in logs and on the HTTP API.
    public var label: String {
        switch self {
        case .unspecified: return "unspecified"
        case .manager: return "manager"
        case .node: return "node"
        case .gateway: return "gateway"
        case .agent: return "agent"
        case .control: return "control"
        case .UNRECOGNIZED(let value): return "role-\(value)"
        }
    }
}

/// How one side of a cluster connection behaves: who it is, what it accepts, its timing.
public struct ConnectionSettings: Sendable {
    /// This process's member id and role, announced in the handshake.
    public var localID: String
    public var localRole: Dialer_V1_Role
    public var secret: ClusterSecret
    /// Heartbeats are sent at this interval once the handshake is done; a server states it in
    /// `Welcome` to members (nodes, gateways, control clients), and a client runs by it until the
    /// server's `Welcome` states the connection's own.
    public var heartbeatInterval: Duration
    /// The interval a server states in `Welcome` to clients of role agent
    /// (`cluster.agent_heartbeat_interval_ms`): thousands of agents on one gateway beating every
    /// second would cost more than their work. `nil`: ``heartbeatInterval`` for every role.
    public var agentHeartbeatInterval: Duration?
    /// A peer silent for more than this many intervals is dead.
    public var missedHeartbeats: Int
    /// The largest frame payload accepted and sent.
    public var maximumPayload: Int
    /// The protocol versions offered (server) or asked for (client): the handshake picks the
    /// highest both sides have. An operator's pin (`cluster.protocol_version_max`) lowers the top.
    public var supportedVersions: ClosedRange<UInt32>
    /// Roles a server accepts; ignored by clients.
    public var acceptedRoles: Set<Dialer_V1_Role>
    /// Outbound bytes waiting for the peer above which the connection stops reading from it
    /// (reading resumes below half of it): a peer that does not read cannot make this process
    /// buffer the answers to what it keeps sending. This side's awaited sends
    /// (``ClusterLink/send(_:)``) wait above it too.
    public var outboundHighWater: Int
    /// Outbound bytes waiting for the peer above which the connection is closed with
    /// `Error SLOW_CONSUMER` once the peer took no byte for a heartbeat interval: what was
    /// written to a peer that stopped reading is let go. (Above the high water, the same
    /// happens after more than ``missedHeartbeats`` intervals without a byte taken.)
    public var outboundHardLimit: Int
    /// TLS under the handshake, when configured; the HMAC handshake runs inside it.
    public var tls: ClusterTLS?

    public init(
        localID: String,
        localRole: Dialer_V1_Role,
        secret: ClusterSecret,
        heartbeatInterval: Duration = .seconds(1),
        agentHeartbeatInterval: Duration? = nil,
        missedHeartbeats: Int = 3,
        maximumPayload: Int = FrameFormat.defaultMaximumPayload,
        supportedVersions: ClosedRange<UInt32> = ProtocolVersion.supported,
        acceptedRoles: Set<Dialer_V1_Role> = [],
        outboundHighWater: Int = ConnectionSettings.defaultOutboundHighWater,
        outboundHardLimit: Int = ConnectionSettings.defaultOutboundHardLimit,
        tls: ClusterTLS? = nil
    ) {
        precondition(missedHeartbeats >= 1)
        precondition(outboundHighWater >= 2 && outboundHardLimit > outboundHighWater)
        self.localID = localID
        self.localRole = localRole
        self.secret = secret
        self.heartbeatInterval = heartbeatInterval
        self.agentHeartbeatInterval = agentHeartbeatInterval
        self.missedHeartbeats = missedHeartbeats
        self.maximumPayload = maximumPayload
        self.supportedVersions = supportedVersions
        self.acceptedRoles = acceptedRoles
        self.outboundHighWater = outboundHighWater
        self.outboundHardLimit = outboundHardLimit
        self.tls = tls
    }

    /// The heartbeat interval a server states to a client of `role`.
    public func heartbeatInterval(for role: Dialer_V1_Role) -> Duration {
        role == .agent ? agentHeartbeatInterval ?? heartbeatInterval : heartbeatInterval
    }

    /// The heartbeat intervals a client accepts from a `Welcome`, in milliseconds (the range
    /// of `cluster.heartbeat_interval_ms`).
    public static let statedHeartbeatIntervals: ClosedRange<UInt32> = 1...3_600_000
    /// The missed-heartbeat counts a client accepts from a `Welcome` (the range of
    /// `cluster.missed_heartbeats`).
    public static let statedMissedHeartbeats: ClosedRange<UInt32> = 1...1000

    /// 1 MiB: a few hundred answers in flight, far above what a reading peer leaves waiting.
    public static let defaultOutboundHighWater = 1 << 20
    /// 16 MiB: room for the largest frames (1 MiB) above the high water, and a bound on what
    /// one connection can hold.
    public static let defaultOutboundHardLimit = 16 << 20
}
