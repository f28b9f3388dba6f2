/// An identifier that is a string underneath: it compares, prints and (when it is `Codable`)
/// encodes as that string, so an id reads the same in the store, the API and a log line.
public protocol StringIdentifier: Hashable, Comparable, Sendable, CustomStringConvertible {
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension StringIdentifier {
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension StringIdentifier where Self: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Identifies one process of the cluster (a dialer node, the agent gateway, the manager).
///
/// Ids are chosen by the operator in the cluster configuration and must be unique.
public struct MemberID: StringIdentifier {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a queue: a campaign's system queue or an inbound queue.
///
/// A queue is the unit of ownership in the cluster: one node at a time paces it.
public struct QueueID: StringIdentifier {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies an agent (a person, or a synthetic agent in load tests).
public struct AgentID: StringIdentifier {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// The fencing token of a queue lease.
///
/// Epochs only grow: every new owner of a queue gets a higher epoch than any earlier owner,
/// and every message about a queue carries the epoch its sender believes in, so that the
/// manager and the gateway can reject a message from a node whose lease has moved on.
public struct Epoch: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero = Epoch(0)
    public var next: Epoch { Epoch(rawValue + 1) }
    public var description: String { String(rawValue) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a cluster member does; sent in the handshake.
public enum MemberRole: String, Sendable, Hashable, CaseIterable {
    case manager
    case node
    case gateway
    case agent
    case control
}
