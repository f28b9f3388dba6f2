public import DialerProtocol

/// The protocol versions this build speaks.
public enum ProtocolVersion {
    public static let current: UInt32 = 1
    public static let supported: ClosedRange<UInt32> = 1...1
}

/// Who is at the other end of an established connection, as proven by the handshake.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var role: Dialer_V1_Role
    public var memberID: String
    public var protocolVersion: UInt32

    public init(role: Dialer_V1_Role, memberID: String, protocolVersion: UInt32) {
        self.role = role
        self.memberID = memberID
        self.protocolVersion = protocolVersion
    }

    public var description: String { "\(role.label)/\(memberID)" }
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
    /// Heartbeats are sent at this interval once the handshake is done.
    public var heartbeatInterval: Duration
    /// A peer silent for more than this many intervals is dead.
    public var missedHeartbeats: Int
    /// The largest frame payload accepted and sent.
    public var maximumPayload: Int
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
        self.missedHeartbeats = missedHeartbeats
        self.maximumPayload = maximumPayload
        self.supportedVersions = supportedVersions
        self.acceptedRoles = acceptedRoles
        self.outboundHighWater = outboundHighWater
        self.outboundHardLimit = outboundHardLimit
        self.tls = tls
    }

    /// 1 MiB: a few hundred answers in flight, far above what a reading peer leaves waiting.
    public static let defaultOutboundHighWater = 1 << 20
    /// 16 MiB: room for the largest frames (1 MiB) above the high water, and a bound on what
    /// one connection can hold.
    public static let defaultOutboundHardLimit = 16 << 20
}
